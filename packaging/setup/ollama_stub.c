/*
 * Stand-in for libggml-sycl.so, which Intel's Ollama build links against.
 *
 * The real library needs Intel's GPU runtime, which these machines do not have. Ollama only
 * asks it how many SYCL devices exist; reporting none makes the server fall back to the CPU
 * backend (together with OLLAMA_NUM_GPU=0). Built by packaging/setup/ollama.sh with
 *   gcc -shared -fPIC -O2 -o R/bin/libggml-sycl.so ollama_stub.c
 */
int ggml_backend_sycl_get_device_count(void) { return 0; }

void *ggml_backend_sycl_init(int device) {
    (void)device;
    return 0;
}

void *ggml_backend_sycl_buffer_type(int device) {
    (void)device;
    return 0;
}

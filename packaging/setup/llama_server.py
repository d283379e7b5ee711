"""Run llama-cpp-python's OpenAI-compatible server with a prompt cache that counts what it holds.

``llama.sh start`` runs this instead of ``python -m llama_cpp.server`` (same arguments).

Why: the server's RAM cache (``--cache_type ram --cache_size N``) keeps a saved state per
prompt, and each state carries a copy of the model's logits for the prompt's tokens as well as
the llama.cpp state. The cache's own size counts only the llama.cpp state (about 60 MB here),
not the logits (up to n_batch x vocabulary x 4 bytes: 311 MB for Qwen2.5 with n_batch 512, and
n_ctx x vocabulary, 2.5 GB, when the server keeps logits for every token, its default). So a
"1 GiB" cache grew past 20 GB on this machine and the kernel's OOM killer stopped the server
mid-run. Here the cache's size is what its states really hold, so ``--cache_size`` is a real
bound; ``llama.sh`` also turns ``logits_all`` off (no logprobs are asked for).
"""

from __future__ import annotations

import runpy

import llama_cpp.llama_cache as llama_cache


def _held_bytes(cache: llama_cache.LlamaRAMCache) -> int:
    """Bytes the cached states hold: llama.cpp state, logits and token ids."""
    return sum(
        int(s.llama_state_size) + int(s.scores.nbytes) + int(s.input_ids.nbytes) for s in cache.cache_state.values()
    )


llama_cache.LlamaRAMCache.cache_size = property(_held_bytes)  # type: ignore[assignment, method-assign]

if __name__ == "__main__":
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)

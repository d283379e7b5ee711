"""Model backends side by side: prompt and generation tokens/s, load time and resident memory.

Usage::

    .venv/bin/python bench/models.py [--runs 3]

Measures the embedded llama.cpp server (Qwen2.5-Coder-1.5B, via its OpenAI API and a fresh
in-process load for the load time) and the bundled Ollama (SmolLM2-135M, via /api/chat, whose
reply carries prompt_eval/eval counts and durations), on the same prompts. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROMPT = (
    "Write a short Python program with pandas that reads orders.csv (columns: customer, qty, unit_price, "
    "discount_pct) and prints what each customer spent after discounts, sorted by customer."
)


def _post(url: str, body: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback only
        out: dict[str, Any] = json.loads(resp.read())
        return out


def _rss_mb(pattern: str) -> float:
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if pattern in cmd:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return round(total, 1)


def llama(runs: int) -> dict[str, Any]:
    py = subprocess.run(
        [str(ROOT / "packaging/setup/llama.sh"), "python"], capture_output=True, text=True
    ).stdout.strip()
    model = subprocess.run(
        [str(ROOT / "packaging/setup/llama.sh"), "path"], capture_output=True, text=True
    ).stdout.strip()
    load = subprocess.run(
        [
            py,
            "-c",
            "import time,sys; from llama_cpp import Llama; t=time.perf_counter(); "
            f"Llama(model_path={model!r}, n_ctx=4096, n_threads=2, verbose=False); print(time.perf_counter()-t)",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    rows = []
    for _ in range(runs):
        started = time.perf_counter()
        doc = _post(
            "http://127.0.0.1:11436/v1/chat/completions",
            {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 200, "temperature": 0},
        )
        wall = time.perf_counter() - started
        usage = doc["usage"]
        rows.append(
            {"wall_s": wall, "prompt_tokens": usage["prompt_tokens"], "completion_tokens": usage["completion_tokens"]}
        )
    # llama-cpp-python's API gives no split timing: prompt speed from a 1-token reply
    started = time.perf_counter()
    doc = _post(
        "http://127.0.0.1:11436/v1/chat/completions",
        {"messages": [{"role": "user", "content": PROMPT * 4}], "max_tokens": 1, "temperature": 0},
    )
    prompt_s = time.perf_counter() - started
    prompt_tps = doc["usage"]["prompt_tokens"] / prompt_s
    gen = [(r["completion_tokens"]) / max(1e-6, r["wall_s"] - r["prompt_tokens"] / prompt_tps) for r in rows]
    return {
        "backend": "llama.cpp (llama-cpp-python 0.3.36)",
        "model": Path(model).name,
        "load_s": round(float(load.stdout.strip() or "nan"), 2),
        "prompt_tokens_per_s": round(prompt_tps, 1),
        "generation_tokens_per_s": round(statistics.median(gen), 1),
        "reply_wall_s_median": round(statistics.median(r["wall_s"] for r in rows), 2),
        "server_rss_mb": _rss_mb("llama_cpp.server"),
    }


def ollama(runs: int, model: str = "smollm2-135m") -> dict[str, Any]:
    base = "http://127.0.0.1:11435"
    started = time.perf_counter()
    _post(base + "/api/generate", {"model": model, "keep_alive": 0})  # unload
    _post(base + "/api/generate", {"model": model, "prompt": "", "keep_alive": "10m"})
    load_s = time.perf_counter() - started
    rows = []
    for _ in range(runs):
        doc = _post(
            base + "/api/chat",
            {
                "model": model,
                "messages": [{"role": "user", "content": PROMPT}],
                "stream": False,
                "options": {"num_predict": 200, "temperature": 0},
            },
        )
        rows.append(doc)
    prompt = [d["prompt_eval_count"] / (d["prompt_eval_duration"] / 1e9) for d in rows if d.get("prompt_eval_duration")]
    gen = [d["eval_count"] / (d["eval_duration"] / 1e9) for d in rows if d.get("eval_duration")]
    return {
        "backend": "ollama 0.9.3 (bigdl-core-cpp build)",
        "model": model,
        "load_s": round(load_s, 2),
        "prompt_tokens_per_s": round(statistics.median(prompt), 1) if prompt else None,
        "generation_tokens_per_s": round(statistics.median(gen), 1) if gen else None,
        "reply_wall_s_median": round(statistics.median(d["total_duration"] / 1e9 for d in rows), 2),
        "server_rss_mb": _rss_mb("ollama"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    out: dict[str, Any] = {}
    for name, fn in (("llamacpp", llama), ("ollama", ollama)):
        try:
            out[name] = fn(args.runs)
        except Exception as exc:  # a backend that is down is reported, not fatal
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

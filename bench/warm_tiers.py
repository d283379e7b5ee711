"""Cold start vs. resume from paused, per specialist, on real containers.

Usage::

    .venv/bin/python bench/warm_tiers.py [--rounds 5] [--specialist ID ...]

Cold start: ``Lifecycle.start`` until the container's socket answers a ping (image built and
cached beforehand, so no build time is counted). Resume: ``docker pause`` an idle replica,
then ``Lifecycle.resume`` plus the first ping answered. Prints JSON with p50/p95 in ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from app.engine.core.config import load_settings
from app.engine.orchestrator import Orchestrator


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))]


def ping_ms(orch: Orchestrator, name: str) -> float:
    """Round trip of one ping to a replica."""
    replica = orch.lifecycle.find(name)
    assert replica is not None
    began = time.perf_counter()
    replica.client.call({"v": 1, "kind": "ping"}, timeout_s=10)
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--specialist", nargs="*")
    args = parser.parse_args()
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        orch = Orchestrator(load_settings(data_dir=Path(tmp), namespace="bench-tiers", autoscale=False))
        orch.start().result(timeout=300)
        try:
            for sid in args.specialist or orch.catalogue.ids():
                orch.build(sid).result(timeout=1800)
                cold: list[float] = []
                resume: list[float] = []
                for _ in range(args.rounds):
                    began = time.perf_counter()
                    replica = orch.lifecycle.start(sid, reason="bench: cold start")
                    ping_ms(orch, replica.name)
                    cold.append((time.perf_counter() - began) * 1000)
                    for _ in range(args.rounds):
                        if not orch.lifecycle.pause(replica.name, reason="bench"):
                            break  # a one-task container (fresh_per_task) is never paused
                        time.sleep(0.2)
                        began = time.perf_counter()
                        orch.lifecycle.resume(replica.name, reason="bench")
                        ping_ms(orch, replica.name)
                        resume.append((time.perf_counter() - began) * 1000)
                    orch.lifecycle.remove(replica.name, reason="bench")
                out[sid] = {
                    "cold_p50_ms": round(statistics.median(cold)),
                    "cold_p95_ms": round(pct(cold, 0.95)),
                    "cold_n": len(cold),
                }
                if resume:
                    out[sid].update(
                        resume_p50_ms=round(statistics.median(resume), 1),
                        resume_p95_ms=round(pct(resume, 0.95), 1),
                        resume_n=len(resume),
                    )
                else:
                    out[sid]["resume"] = "n/a: one container per task (fresh_per_task), never paused"
                print(sid, json.dumps(out[sid]), flush=True)
        finally:
            orch.close(remove_containers=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

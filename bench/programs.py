"""Natural-language suites on the real engine: pass rates (dev and hold-out) and latency per task.

Usage::

    .venv/bin/python bench/programs.py [--split holdout] [--specialist ID] [--limit N] [--case ID ...] [--keep DIR]

Runs ``switchboard eval natural`` in-process with the model warm (one throwaway task first)
and prints JSON: pass rate per specialist and split, p50/p95 seconds per task, failures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from app.engine.core.config import load_settings
from app.engine.evaluation.runner import run_golden
from app.engine.orchestrator import Orchestrator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--split", default="all", help="dev, holdout, fresh, fresh2, fresh3, all, or several: holdout,fresh3"
    )
    parser.add_argument("--specialist")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--case", action="append", help="run only this case id (repeatable), e.g. to re-run failures")
    parser.add_argument("--keep", type=Path, help="keep the engine's data (tasks, programs, attempts) in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        data_dir = args.keep or Path(tmp)
        orch = Orchestrator(load_settings(data_dir=data_dir, namespace="bench"))
        orch.start().result(timeout=300)
        try:
            orch.coder.service.chat(
                orch.settings.planning_model, [{"role": "user", "content": "hi"}], options={"num_predict": 2}
            )  # warm the model
            # one suite at a time: the figures are per task with the model to itself (suites
            # side by side would measure queueing on the one model instead)
            ids = [args.specialist] if args.specialist else orch.catalogue.ids()
            parts = [
                run_golden(
                    orch,
                    sid,
                    suite="natural",
                    split=args.split,
                    limit=args.limit,
                    case_ids=frozenset(args.case) if args.case else None,
                )
                for sid in ids
            ]
            doc = {
                "cases": [c for p in parts for c in p["cases"]],
                "passed": sum(p["passed"] for p in parts),
                "total": sum(p["total"] for p in parts),
                "per_specialist": {k: v for p in parts for k, v in p["per_specialist"].items()},
            }
            doc["pass_rate"] = doc["passed"] / doc["total"] if doc["total"] else None
        finally:
            orch.close(remove_containers=True)
    seconds = sorted(c["duration_ms"] / 1000 for c in doc["cases"])
    out = {
        "split": args.split,
        "passed": doc["passed"],
        "total": doc["total"],
        "pass_rate": doc["pass_rate"],
        "per_specialist": {k: v["all"] for k, v in doc["per_specialist"].items()},
        "p50_s": round(statistics.median(seconds), 1) if seconds else None,
        "p95_s": round(seconds[int(0.95 * (len(seconds) - 1))], 1) if seconds else None,
        "failures": [f"{c['case_id']}: {c['detail'][:160]}" for c in doc["cases"] if not c["passed"]],
    }
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Memory budget under pressure: a run that would exceed it evicts or is refused, never overruns.

Usage::

    .venv/bin/python bench/memory_budget.py [--budget-mb 2048] [--rounds 4] [--timeout-s 600]

Real containers, the real controller. Each round sends one explicit task (the first explicit
golden case that needs no test site) to every specialist at once, so together they want more
memory than the budget allows. A sampler adds up, every 0.2 s, the memory limits of this run's
containers (running and paused, straight from the Docker API, not from the engine's own book)
and a Docker event listener counts OOM kills. Prints JSON: tasks by outcome, evictions and
refusals (the engine's decisions), the largest committed memory seen against the budget, the
number of samples above it, and OOM kills. Goals: zero overruns and zero OOM kills.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker

from app.engine.core.config import load_settings
from app.engine.core.events import Decision
from app.engine.evaluation.golden_checks import load_golden
from app.engine.orchestrator import Orchestrator
from app.engine.runtime.protocol import LABEL_NAMESPACE


def first_explicit(orch: Orchestrator, sid: str) -> tuple[str, list[Path]] | None:
    spec = orch.spec(sid)
    golden = spec.folder / "golden.jsonl"
    if not golden.exists():
        return None
    for case in load_golden(golden):
        if case.path == "explicit" and "sb-testsite" not in case.text and case.check.kind != "error":
            return case.text, [spec.folder / f for f in case.files]
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-mb", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--timeout-s", type=float, default=600.0)
    args = parser.parse_args()
    client = docker.from_env(timeout=30)
    namespace = "membench"
    stop = threading.Event()
    peaks: list[int] = []
    over = 0
    oom: list[str] = []

    def sample() -> None:
        nonlocal over
        while not stop.wait(0.2):
            mb = 0
            for c in client.containers.list(filters={"label": f"{LABEL_NAMESPACE}={namespace}"}):
                if c.status in ("running", "paused", "restarting"):
                    mb += int(c.attrs["HostConfig"].get("Memory") or 0) // (1024 * 1024)
            peaks.append(mb)
            if mb > args.budget_mb:
                over += 1

    def listen() -> None:
        events = client.events(decode=True, filters={"event": "oom", "label": f"{LABEL_NAMESPACE}={namespace}"})
        for event in events:
            oom.append(str(event.get("Actor", {}).get("Attributes", {}).get("name", "?")))
            if stop.is_set():
                break

    with tempfile.TemporaryDirectory(prefix="sb-membench-") as tmp:
        settings = load_settings(
            data_dir=Path(tmp),
            namespace=namespace,
            budget_max_memory_mb=args.budget_mb,
            models_in_budget=False,
            ollama_autostart=False,
        )
        orch = Orchestrator(settings)
        decisions: list[Decision] = []
        orch.bus.subscribe(Decision, decisions.append)
        orch.start().result(timeout=300)
        tasks = {sid: first_explicit(orch, sid) for sid in orch.catalogue.ids()}
        tasks = {sid: t for sid, t in tasks.items() if t is not None}
        wanted = sum(orch.spec(sid).limits.memory_mb for sid in tasks)
        sampler = threading.Thread(target=sample, daemon=True)
        listener = threading.Thread(target=listen, daemon=True)
        sampler.start()
        listener.start()
        outcomes: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        began = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
                for n in range(args.rounds):
                    if time.monotonic() - began > args.timeout_s:
                        break

                    def one(sid: str) -> tuple[str, str]:
                        text, files = tasks[sid]
                        try:
                            view = orch.submit(text, specialist=sid, files=files).future.result(timeout=300)
                        except Exception as exc:  # a refusal at submit is an outcome too
                            return "refused", str(exc)[:80]
                        return str(view.state), (view.error or "")[:80]

                    for state, reason in pool.map(one, list(tasks)):
                        outcomes[state] += 1
                        if reason:
                            reasons[reason] += 1
                    print(f"round {n + 1}/{args.rounds}: {dict(outcomes)}", flush=True)
        finally:
            stop.set()
            sampler.join(timeout=5)
            orch.close(remove_containers=True)
    kinds = Counter(d.kind for d in decisions)
    print(
        json.dumps(
            {
                "budget_mb": args.budget_mb,
                "specialists": len(tasks),
                "memory_wanted_at_once_mb": wanted,
                "rounds": args.rounds,
                "tasks": dict(outcomes),
                "failure_reasons": dict(reasons.most_common(5)),
                "evictions": kinds.get("evict", 0),
                "refusals": kinds.get("refuse_budget", 0),
                "starts": kinds.get("start_on_demand", 0) + kinds.get("scale_up", 0),
                "max_committed_mb": max(peaks, default=0),
                "samples": len(peaks),
                "samples_over_budget": over,
                "oom_kills": len(oom),
                "seconds": round(time.monotonic() - began, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Variant bandit benchmark: 1,000 simulated tasks through the real chooser, rule and store.

Usage::

    .venv/bin/python bench/bandit.py [--tasks 1000] [--seeds 1 2 3 4 5] [--min-tasks 30]

Each run seeds a fresh SQLite store with one specialist's incumbent, ``--history`` live outcomes
it served before the trial (a specialist runs its incumbent for a while before anyone retrains
it; without that history the incumbent's own p95 and rate are guesses from a few tasks), and
the live candidate(s), then sends ``--tasks`` tasks through :class:`app.engine.improve.Improvement`:
``choose`` picks the variant, the task succeeds with that variant's true (hidden) rate and takes a
log-normal latency, ``record`` stores the outcome and applies the promotion/rollback rule. Scenarios:

* ``candidate_better``: incumbent 0.60, candidate 0.80 (the worse one is the incumbent);
* ``candidate_worse``: incumbent 0.80, candidate 0.60 (the worse one is the candidate);
* ``three_variants``: incumbent 0.70, candidates 0.85 and 0.55 (the worst is the second).

Figures per seed, for both choosers (``thompson``, the default, and ``ab`` 50/50):

* ``regret_vs_worse``: expected successes lost against always using the best variant, as a
  share of what always using the worst one loses (goal <= 10 %);
* ``worse_share``: share of all tasks sent to the worst variant (goal < 10 % after 1,000),
  and ``worse_share_last_100``;
* ``tasks_to_promote`` / ``tasks_to_rollback``: task number of each decision, with its reason.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.core.events import Decision, EventBus  # noqa: E402
from app.engine.core.specs import load_catalogue  # noqa: E402
from app.engine.improve import (  # noqa: E402
    Improvement,
    ImprovementConfig,
    PromotionRule,
    Variant,
    VariantState,
)
from app.engine.store import Store  # noqa: E402

SPECIALIST = "numerical"
SCENARIOS: dict[str, list[float]] = {  # true success rate per version: v1 = incumbent, then candidates
    "candidate_better": [0.60, 0.80],
    "candidate_worse": [0.80, 0.60],
    "three_variants": [0.70, 0.85, 0.55],
}
LATENCY_MS = 2000.0  # median; every variant alike, so only success decides


class Clock:
    """A simulated clock: one second per call."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def run_once(
    rates: list[float], chooser: str, seed: int, tasks: int, min_tasks: int, history: int = 200
) -> dict[str, Any]:
    """One simulated trial; returns the figures listed in the module docstring."""
    specs = load_catalogue(Path(__file__).resolve().parents[1] / "specialists").specs
    rng = random.Random(seed)
    clock = Clock()
    with (
        tempfile.TemporaryDirectory(prefix="sb-bandit-") as tmp,
        Store(f"sqlite:///{tmp}/bandit.db", data_dir=Path(tmp)) as store,
    ):
        past = random.Random(seed + 10_000)
        for version, _rate in enumerate(rates, start=1):
            state = VariantState.INCUMBENT if version == 1 else VariantState.CANDIDATE
            now = clock()
            store.add_variant(
                Variant(
                    specialist=SPECIALIST,
                    version=version,
                    state=state,
                    base_model="sim",
                    created_at=now,
                    live_since=now,
                ).fields()
            ).result(10)
            if version == 1 and history:
                store.add_variant_outcomes(
                    [
                        {
                            "variant_id": f"{SPECIALIST}-v1",
                            "specialist": SPECIALIST,
                            "source": "live",
                            "ts": clock(),
                            "success": past.random() < rates[0],
                            "latency_ms": LATENCY_MS * past.lognormvariate(0.0, 0.25),
                        }
                        for _ in range(history)
                    ]
                ).result(10)
        bus, decisions = EventBus(), []
        bus.subscribe(Decision, decisions.append)
        config = ImprovementConfig(chooser=chooser, ab_share=0.5, rule=PromotionRule(min_tasks=min_tasks))  # type: ignore[arg-type]
        imp = Improvement(
            lambda: store, bus, specs, base_model="sim", config=config, rng=random.Random(seed * 7919), clock=clock
        )
        rate_of = {f"{SPECIALIST}-v{i}": r for i, r in enumerate(rates, start=1)}
        best, worst = max(rates), min(rates)
        worst_id = max((vid for vid in rate_of if rate_of[vid] == worst), key=len)
        lost, picks = 0.0, []
        events: list[dict[str, Any]] = []
        start = time.perf_counter()
        for n in range(1, tasks + 1):
            variant = imp.choose(SPECIALIST)
            assert variant is not None and variant.specialist == SPECIALIST
            picks.append(variant.id)
            lost += best - rate_of[variant.id]
            success = rng.random() < rate_of[variant.id]
            latency = LATENCY_MS * rng.lognormvariate(0.0, 0.25)
            for verdict in imp.record(variant.id, success, latency_ms=latency):
                events.append({"task": n, "action": verdict.action, "reason": verdict.reason})
        elapsed = time.perf_counter() - start
    worse_pulls = picks.count(worst_id)
    worst_loss = tasks * (best - worst)
    promote = [e for e in events if e["action"] == "promote"]
    rollback = [e for e in events if e["action"] == "rollback"]
    return {
        "regret_vs_worse": round(lost / worst_loss, 4),
        "worse_share": round(worse_pulls / tasks, 4),
        "worse_share_last_100": round(picks[-100:].count(worst_id) / min(100, tasks), 4),
        "tasks_to_promote": promote[0]["task"] if promote else None,
        "tasks_to_rollback": [e["task"] for e in rollback],
        "decisions": [f"task {e['task']}: {e['reason']}" for e in events],
        "decision_events": [d.kind for d in decisions],
        "us_per_task": round(elapsed / tasks * 1e6, 1),
    }


def summarise(runs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Mean and worst case over seeds, and whether the goals hold for every seed."""
    regret = [r["regret_vs_worse"] for r in runs.values()]
    share = [r["worse_share"] for r in runs.values()]
    promote = [r["tasks_to_promote"] for r in runs.values() if r["tasks_to_promote"] is not None]
    return {
        "regret_vs_worse_mean": round(statistics.fmean(regret), 4),
        "regret_vs_worse_max": max(regret),
        "worse_share_mean": round(statistics.fmean(share), 4),
        "worse_share_max": max(share),
        "tasks_to_promote_median": statistics.median(promote) if promote else None,
        "promoted_in": f"{len(promote)}/{len(runs)} seeds",
        "goal_regret_le_10pct": all(r <= 0.10 for r in regret),
        "goal_worse_share_lt_10pct": all(s < 0.10 for s in share),
    }


def main(argv: list[str] | None = None) -> None:
    """Run every scenario for every seed and chooser; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--min-tasks", type=int, default=30, help="N of the promotion rule")
    parser.add_argument("--history", type=int, default=200, help="live tasks the incumbent served before the trial")
    parser.add_argument("--choosers", nargs="+", default=["thompson", "ab"], choices=["thompson", "ab"])
    parser.add_argument("--brief", action="store_true", help="leave out per-seed decision texts")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {
        "tasks": args.tasks,
        "min_tasks": args.min_tasks,
        "history": args.history,
        "seeds": args.seeds,
        "scenarios": {},
    }
    for name, rates in SCENARIOS.items():
        out["scenarios"][name] = {"rates": rates}
        for chooser in args.choosers:
            runs = {
                seed: run_once(rates, chooser, seed, args.tasks, args.min_tasks, args.history) for seed in args.seeds
            }
            if args.brief:
                for r in runs.values():
                    r.pop("decisions")
                    r.pop("decision_events")
            out["scenarios"][name][chooser] = {"summary": summarise(runs), "per_seed": runs}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""Routing before/after feedback: does retraining the fast router on user feedback help, safely?

Usage::

    .venv/bin/python bench/routing_feedback.py [--events 200] [--splits 5] [--mix FILE ...]

The **task mix** is by default ``tests/data/routing_fresh.jsonl`` +
``tests/data/routing_holdout.jsonl`` (phrasings and domains the manifests were not written
from); ``--mix`` names other files under ``tests/data`` instead, e.g.
``--mix routing_multilingual.jsonl`` (120 tasks in German, Spanish, French, Portuguese and
Italian; the fast router's glossary and character n-grams already route 92 % of them right
before any feedback). The guard's
empty and injection cases are left out, they never reach the fast router. For each of
``--splits`` seeds the mix is split in half, stratified by label: 200 simulated feedback
events are drawn (with replacement) from one half, each the task text, its files and the
right label, as a user's ``wrong_specialist`` correction (when the router was wrong) or
confirmation (when it was right) would give them; the fast router is retrained once from
them (``Router.learn_many``: deduplicated, capped, checked) and evaluated on the **other
half** and on the **original set** ``tests/data/routing.jsonl``. Routing here is the fast router + file evidence
(``decide_fast``): feedback moves the fast router, the model path is measured by
``bench/routing.py``.

A **poisoned** run gives the same 200 events random wrong labels (half of them ``none``) and
reports how far the original set falls and how many of its in-scope tasks are refused: the
retrain's safety rules must keep the router from refusing everything.

Prints one JSON object: per split and the mean of before/after accuracy on the mix's other
half and on the original set, plus the poisoned figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.core.config import repo_root  # noqa: E402
from app.engine.core.specs import load_catalogue  # noqa: E402
from app.engine.routing.bandit import ThompsonBandit  # noqa: E402
from app.engine.routing.evaluate import is_correct, load_cases  # noqa: E402
from app.engine.routing.fast import NONE, FastRouter  # noqa: E402
from app.engine.routing.features import looks_like_injection  # noqa: E402
from app.engine.routing.router import Router  # noqa: E402

ROOT = repo_root()
DATA = ROOT / "tests/data"
DEFAULT_MIX = ("routing_fresh.jsonl", "routing_holdout.jsonl")


def accuracy(router: Router, cases: list[dict[str, Any]]) -> tuple[float, float]:
    """(top-1 accuracy, share of in-scope tasks refused) with ``decide_fast``."""
    hits, refused, in_scope = 0, 0, 0
    for case in cases:
        chosen = router.decide_fast(case["text"], case.get("files") or []).chosen
        hits += is_correct(chosen, case)
        if case.get("expected") is not None:
            in_scope += 1
            refused += chosen in (NONE, "clarify")
    return round(hits / len(cases), 4), round(refused / max(in_scope, 1), 4)


def split(cases: list[dict[str, Any]], seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Half and half, stratified by expected label."""
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        by_label[case.get("expected") or NONE].append(case)
    rng = random.Random(seed)
    feed, held = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        half = len(group) // 2
        feed += group[:half]
        held += group[half:]
    return feed, held


def main() -> None:
    """Run the splits and the poisoned run; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument(
        "--mix",
        nargs="+",
        default=list(DEFAULT_MIX),
        metavar="FILE",
        help="task files under tests/data (default: %(default)s)",
    )
    args = parser.parse_args()
    mix_files: list[str] = args.mix
    missing = [name for name in mix_files if not (DATA / name).is_file()]
    if missing:
        parser.error(f"not found under {DATA}: {', '.join(missing)}")
    specs = list(load_catalogue(ROOT / "specialists").specs.values())
    mix = [
        c
        for name in mix_files
        for c in load_cases(DATA / name)
        if not FastRouter.too_short(c["text"], c.get("files") or []) and not looks_like_injection(c["text"])
    ]
    original = load_cases(ROOT / "tests/data/routing.jsonl")
    labels = sorted(s.id for s in specs) + [NONE]

    def fresh_router() -> Router:
        return Router(specs, cache_dir=False, bandit=ThompsonBandit(seed=0))

    base = fresh_router()
    before_original = accuracy(base, original)
    runs = []
    for seed in range(args.splits):
        feed, held = split(mix, seed)
        rng = random.Random(1000 + seed)
        events, corrections = [], 0
        for _ in range(args.events):
            case = rng.choice(feed)
            files = list(case.get("files") or [])
            right = case.get("expected") or NONE
            corrections += base.decide_fast(case["text"], files).chosen != right
            events.append((case["text"], files, right))
        router = fresh_router()
        start = time.perf_counter()
        report = router.learn_many(events)
        retrain_s = time.perf_counter() - start
        before_mix, after_mix = accuracy(base, held), accuracy(router, held)
        after_original = accuracy(router, original)
        runs.append(
            {
                "seed": seed,
                "feedback_tasks": len(feed),
                "eval_tasks": len(held),
                "events": len(events),
                "corrections": corrections,
                "confirmations": len(events) - corrections,
                "retrain": report,
                "retrain_s": round(retrain_s, 2),
                "mix_before": before_mix[0],
                "mix_after": after_mix[0],
                "mix_refused_before": before_mix[1],
                "mix_refused_after": after_mix[1],
                "original_before": before_original[0],
                "original_after": after_original[0],
                "original_refused_after": after_original[1],
            }
        )
    # poisoned: the same kind of events with wrong labels, half of them "none"
    rng = random.Random(7)
    poison = []
    for _ in range(args.events):
        case = rng.choice(mix)
        right = case.get("expected") or NONE
        wrong = NONE if rng.random() < 0.5 else rng.choice([label for label in labels if label != right])
        poison.append((case["text"], list(case.get("files") or []), wrong))
    poisoned = fresh_router()
    report = poisoned.learn_many(poison)
    p_original, p_mix = accuracy(poisoned, original), accuracy(poisoned, mix)
    out = {
        "mix": " + ".join(Path(name).stem for name in mix_files)
        + " (guard cases removed), half for feedback, half for evaluation",
        "mix_files": [f"tests/data/{name}" for name in mix_files],
        "mix_size": len(mix),
        "original": "tests/data/routing.jsonl",
        "original_size": len(original),
        "mean": {
            "mix_before": round(mean(r["mix_before"] for r in runs), 4),
            "mix_after": round(mean(r["mix_after"] for r in runs), 4),
            "mix_gain_points": round(100 * mean(r["mix_after"] - r["mix_before"] for r in runs), 1),
            "original_before": before_original[0],
            "original_after": round(mean(r["original_after"] for r in runs), 4),
            "original_refused_before": before_original[1],
            "original_refused_after": round(mean(r["original_refused_after"] for r in runs), 4),
        },
        "splits": runs,
        "poisoned": {
            "events": len(poison),
            "retrain": report,
            "original_accuracy": p_original[0],
            "original_refused": p_original[1],
            "mix_accuracy": p_mix[0],
            "mix_refused": p_mix[1],
        },
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Routing benchmark: harness figures on two labelled sets, 5-fold CV, threshold tuning.

Usage::

    .venv/bin/python bench/routing.py [--cases A.jsonl B.jsonl] [--no-llm] [--llm-sample 15]

By default the sets are ``tests/data/routing.jsonl`` (the tuning set) and
``tests/data/routing_holdout.jsonl`` (written after the router was built; see docs/routing.md).
Prints one JSON object:

* ``train_s`` / ``cached_load_s``: cold fit of the fast router and a load from its disk cache;
* ``sets.<name>.harness``: :func:`app.engine.routing.evaluate` of a router trained on the
  manifests only (the labelled sets are never used for training here), with the real Ollama
  when it answers;
* ``sets.<name>.cross_validation``: fast-router accuracy over 5 folds, each trained on
  manifests + the other 4 folds (shows that feedback generalises to unseen wording);
* ``threshold``: the tuned LLM threshold from the first set's held-out fold confidences.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.core.config import Settings  # noqa: E402
from app.engine.core.specs import load_catalogue  # noqa: E402
from app.engine.llm.ollama_service import OllamaService  # noqa: E402
from app.engine.routing.evaluate import evaluate, is_correct, load_cases  # noqa: E402
from app.engine.routing.fast import NONE  # noqa: E402
from app.engine.routing.router import DEFAULT_THRESHOLD, Router  # noqa: E402


def cross_validate(specs: list[Any], cases: list[dict[str, Any]], folds: int = 5) -> tuple[dict[str, Any], list[tuple[float, bool, dict[str, Any]]]]:
    """Fast-router accuracy on held-out folds; returns the figures and (confidence, correct, case)."""
    order = list(range(len(cases)))
    random.Random(42).shuffle(order)
    held: list[tuple[float, bool, dict[str, Any]]] = []
    fold_acc = []
    for k in range(folds):
        test = [cases[i] for i in order[k::folds]]
        train = [cases[i] for i in order if i not in set(order[k::folds])]
        router = Router(specs, cache_dir=False)
        router.fast.train([(c["text"], list(c.get("files") or []), c["expected"] or NONE) for c in train if c["text"].strip() or c.get("files")])
        hits = 0
        for case in test:
            decision = router.decide_fast(case["text"], case.get("files") or [])
            ok = is_correct(decision.chosen, case)
            hits += ok
            held.append((decision.confidence, ok, case))
        fold_acc.append(hits / len(test))
    return {"folds": folds, "fold_accuracy": [round(a, 4) for a in fold_acc],
            "fast_accuracy_cv": round(sum(ok for _, ok, _ in held) / len(held), 4)}, held


def tune_threshold(held: list[tuple[float, bool, dict[str, Any]]], llm_accuracy: float, max_share: float = 0.25) -> dict[str, Any]:
    """Threshold maximising expected held-out accuracy when tasks below it go to the LLM.

    Expected accuracy = fast hits above the threshold + ``llm_accuracy`` x tasks below it,
    subject to at most ``max_share`` of tasks reaching the LLM; ties go to the lower value.
    """
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    table = []
    for step in range(0, 19):
        t = round(0.10 + 0.05 * step, 2)
        below = [c for c in held if c[0] < t]
        share = len(below) / len(held)
        expected = (sum(ok for conf, ok, _ in held if conf >= t) + llm_accuracy * len(below)) / len(held)
        table.append({"threshold": t, "llm_share": round(share, 3), "expected_accuracy": round(expected, 4)})
        if share <= max_share and expected > best[0] + 1e-9:
            best = (expected, t, share)
    return {"tuned": best[1], "expected_accuracy": round(best[0], 4), "llm_share": round(best[2], 3),
            "llm_accuracy_used": round(llm_accuracy, 3), "table": table}


def measure_llm(router: Router, held: list[tuple[float, bool, dict[str, Any]]], sample: int) -> dict[str, Any]:
    """LLM accuracy on the least confident held-out cases (those the LLM would see)."""
    low = sorted(held, key=lambda c: c[0])[:sample]
    hits, lat, failures = 0, [], 0
    assert router.llm is not None
    for _conf, _ok, case in low:
        try:
            answer = router.llm.ask(case["text"], case.get("files") or [])
        except Exception:  # noqa: BLE001 - a timeout counts as a miss
            failures += 1
            continue
        lat.append(answer.latency_ms)
        hits += answer.route is not None and is_correct(answer.route, case)
    return {"n": len(low), "accuracy": hits / len(low) if low else 0.0, "failures": failures,
            "median_ms": round(sorted(lat)[len(lat) // 2], 1) if lat else None}


def main() -> None:
    """Run everything and print JSON."""
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=Path, nargs="+",
                        default=[root / "tests/data/routing.jsonl", root / "tests/data/routing_holdout.jsonl"])
    parser.add_argument("--specialists", type=Path, default=None)
    parser.add_argument("--no-llm", action="store_true")
    parser.add_argument("--llm-sample", type=int, default=15)
    args = parser.parse_args()
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="sb-bench-")))
    cache = settings.data_dir / "router-cache"
    catalogue = load_catalogue(args.specialists or settings.specialists_dir)
    specs = list(catalogue.specs.values())
    service = None if args.no_llm else OllamaService(settings)
    if service is not None and not service.is_up(max_age_s=0):
        service = None
    start = time.perf_counter()
    Router(specs, cache_dir=cache)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    Router(specs, cache_dir=cache)
    load_s = time.perf_counter() - start
    out: dict[str, Any] = {"catalogue": sorted(catalogue.specs), "train_s": round(train_s, 3),
                           "cached_load_s": round(load_s, 3), "ollama": service is not None, "sets": {}}
    first_held: list[tuple[float, bool, dict[str, Any]]] | None = None
    for path in args.cases:
        cases = load_cases(path)
        cv, held = cross_validate(specs, cases)
        first_held = held if first_held is None else first_held
        router = Router(specs, service, threshold=DEFAULT_THRESHOLD, model=settings.ollama_model, cache_dir=cache)
        out["sets"][path.stem] = {"cases": str(path), "cross_validation": cv, "harness": evaluate(router, cases)}
    assert first_held is not None
    llm = measure_llm(Router(specs, service, model=settings.ollama_model, cache_dir=cache), first_held, args.llm_sample) if service else None
    out["llm_on_low_confidence"] = llm
    out["threshold"] = tune_threshold(first_held, llm["accuracy"] if llm else 0.0)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

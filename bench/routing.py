"""Routing benchmark: harness figures per labelled set and backend, 5-fold CV, rule tuning.

Usage::

    .venv/bin/python bench/routing.py [--cases A.jsonl ...] [--backend llamacpp|ollama|none]
        [--legacy] [--tune] [--llm-timeout 90] [--llm-cache FILE] [--ollama-host URL]

By default the sets are ``tests/data/routing.jsonl`` (the tuning set),
``tests/data/routing_holdout.jsonl`` (written after the router was built) and
``tests/data/routing_fresh.jsonl`` (written before the combination rule was tuned, never used
for tuning); see docs/routing.md. Prints one JSON object:

* ``train_s`` / ``cached_load_s``: cold fit of the fast router and a load from its disk cache;
* ``sets.<name>.harness``: :func:`app.engine.routing.evaluate` of a router trained on the
  manifests only (the labelled sets are never used for training here) with the chosen
  backend (``none`` = no model), with the shipped combination rule or, with ``--legacy``,
  the rule before it (no file evidence, model only below confidence 0.10, model overrides);
* ``sets.<name>.cross_validation``: fast-router accuracy over 5 folds, each trained on
  manifests + the other 4 folds (shows that feedback generalises to unseen wording);
* ``tune`` (``--tune``): the combination rule's parameters tuned on the **first** set only.
  Stage 1 picks the file-evidence weights without the model; stage 2 asks the model for every
  case whose combined confidence is below the highest threshold tried and picks the
  threshold and the model's weight. Objective: accuracy, subject to at most 2 % of in-scope
  tasks refused and at most 25 % of tasks reaching the model; ties go to fewer model calls,
  then to smaller weights.

The model's answers can be cached in ``--llm-cache`` (keyed by backend, model, prompt, text
and files) so that tuning and evaluation, or a re-run, do not ask twice; the timeout used
here (``--llm-timeout``, 90 s) measures the model's accuracy on a loaded machine, while the
engine's own limit is ``routing_llm_timeout_s``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.core.config import Settings  # noqa: E402
from app.engine.core.errors import OllamaUnavailable  # noqa: E402
from app.engine.core.specs import load_catalogue  # noqa: E402
from app.engine.llm.llamacpp import LlamaCppService  # noqa: E402
from app.engine.llm.ollama_service import OllamaService  # noqa: E402
from app.engine.routing.bandit import ThompsonBandit  # noqa: E402
from app.engine.routing.combine import (  # noqa: E402
    DEFAULT_PARAMS,
    PARAMS_BY_BACKEND,
    CombineParams,
    apply_evidence,
    file_evidence,
    with_model,
)
from app.engine.routing.evaluate import evaluate, is_correct, load_cases  # noqa: E402
from app.engine.routing.fast import NONE, FastRouter  # noqa: E402
from app.engine.routing.features import looks_like_injection  # noqa: E402
from app.engine.routing.router import Router  # noqa: E402

LEGACY = CombineParams(strong=0.0, weak=0.0, mention=0.0, none_with_files=0.0, threshold=0.10, llm_weight=1e6)
ROOT = Path(__file__).resolve().parents[1]
SETS = [
    ROOT / "tests/data/routing.jsonl",
    ROOT / "tests/data/routing_holdout.jsonl",
    ROOT / "tests/data/routing_fresh.jsonl",
]


class CachedService:
    """Wraps a chat service; answers are kept in a JSON file keyed by the whole request."""

    def __init__(self, inner: Any, backend: str, path: Path | None) -> None:
        self.inner, self.backend, self.path = inner, backend, path
        self.cache: dict[str, str] = json.loads(path.read_text()) if path and path.is_file() else {}
        self.calls = 0
        self.hits = 0
        self.latencies: list[float] = []

    def is_up(self) -> bool:
        return bool(self.inner.is_up())

    def chat(self, model: str, messages: list[dict[str, str]], **kwargs: Any) -> str:
        key = hashlib.sha256(
            json.dumps([self.backend, model, messages, kwargs.get("format")], sort_keys=True).encode()
        ).hexdigest()
        if key in self.cache:
            self.hits += 1
            return self.cache[key]
        self.calls += 1
        start = time.perf_counter()
        reply = str(self.inner.chat(model, messages, **kwargs))
        self.latencies.append((time.perf_counter() - start) * 1000)
        self.cache[key] = reply
        if self.path:
            self.path.write_text(json.dumps(self.cache))
        return reply


def cross_validate(specs: list[Any], cases: list[dict[str, Any]], folds: int = 5) -> dict[str, Any]:
    """Fast-router (+ file evidence) accuracy on held-out folds trained on manifests + the other folds."""
    order = list(range(len(cases)))
    random.Random(42).shuffle(order)
    hits_all, fold_acc = 0, []
    for k in range(folds):
        test_ids = set(order[k::folds])
        router = Router(specs, cache_dir=False)
        router.fast.train(
            [
                (cases[i]["text"], list(cases[i].get("files") or []), cases[i]["expected"] or NONE)
                for i in order
                if i not in test_ids and (cases[i]["text"].strip() or cases[i].get("files"))
            ]
        )
        hits = sum(
            is_correct(router.decide_fast(cases[i]["text"], cases[i].get("files") or []).chosen, cases[i])
            for i in test_ids
        )
        hits_all += hits
        fold_acc.append(hits / len(test_ids))
    return {
        "folds": folds,
        "fold_accuracy": [round(a, 4) for a in fold_acc],
        "fast_accuracy_cv": round(hits_all / len(cases), 4),
    }


def _score(rows: Sequence[tuple[dict[str, Any], str]]) -> tuple[float, float]:
    """(accuracy, in-scope refusal rate) of (case, chosen) pairs."""
    acc = sum(is_correct(chosen, case) for case, chosen in rows) / len(rows)
    in_scope = [chosen for case, chosen in rows if case.get("expected") is not None]
    refused = sum(chosen in (NONE, "clarify") for chosen in in_scope) / max(len(in_scope), 1)
    return acc, refused


def tune(
    router: Router, cases: list[dict[str, Any]], max_share: float = 0.25, max_refusal: float = 0.02
) -> dict[str, Any]:
    """Tune the combination rule on ``cases`` (the tuning set only); see the module docstring."""
    labels = list(router.fast.labels)
    base = []
    for case in cases:
        files = list(case.get("files") or [])
        guarded = FastRouter.too_short(case["text"], files) or looks_like_injection(case["text"])
        chosen = router.decide_fast(case["text"], files).chosen
        base.append((case, files, None if guarded else router.fast.predict(case["text"], files).probs, chosen))
    # stage 1: file-evidence weights, no model
    best1: tuple[tuple[float, float], CombineParams] | None = None
    grid1 = itertools.product((0.0, 1.0, 2.0, 3.0, 4.0), (0.0, 0.5, 1.0, 1.5), (0.0, 0.5, 1.0), (0.0, 1.0, 2.0, 3.0))
    for strong, weak, mention, none_pen in grid1:
        params = CombineParams(strong=strong, weak=weak, mention=mention, none_with_files=none_pen)
        rows = []
        for case, files, probs, chosen in base:
            if probs is None:
                rows.append((case, chosen))
                continue
            combined = apply_evidence(probs, file_evidence(files, case["text"], labels, params))
            rows.append((case, max(combined, key=lambda k: combined[k])))
        acc, refused = _score(rows)
        key = (acc - (1.0 if refused > max_refusal else 0.0), -(strong + weak + mention + none_pen))
        if best1 is None or key > best1[0]:
            best1 = (key, params)
    assert best1 is not None
    ev = best1[1]
    stage1_acc = best1[0][0]
    # stage 2: threshold and model weight, with the model's real answers
    thresholds = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]
    weights = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 1e6]
    combined_rows = []
    for case, files, probs, chosen in base:
        if probs is None:
            combined_rows.append((case, None, chosen))
            continue
        combined = apply_evidence(probs, file_evidence(files, case["text"], labels, ev))
        combined_rows.append((case, combined, chosen))
    answers: dict[int, str | None] = {}
    asked, failures = 0, 0
    for i, (case, combined, _) in enumerate(combined_rows):
        if combined is None or max(combined.values()) >= max(thresholds) or router.llm is None:
            continue
        asked += 1
        try:
            answer = router.llm.ask(case["text"], case.get("files") or [])
            answers[i] = answer.route
        except OllamaUnavailable:
            failures += 1
            answers[i] = None
    model_hits = sum(1 for i, r in answers.items() if r is not None and is_correct(r, combined_rows[i][0]))
    table, best2 = [], None
    for t, w in itertools.product(thresholds, weights):
        rows, n_llm = [], 0
        for i, (case, combined, chosen) in enumerate(combined_rows):
            if combined is None:
                rows.append((case, chosen))
                continue
            if max(combined.values()) < t and i in answers:
                n_llm += 1
                rows.append((case, with_model(combined, answers[i], w)))
            else:
                rows.append((case, max(combined, key=lambda k: combined[k])))
        acc, refused = _score(rows)
        share = n_llm / len(rows)
        table.append(
            {
                "threshold": t,
                "llm_weight": w,
                "accuracy": round(acc, 4),
                "false_refusal": round(refused, 4),
                "llm_share": round(share, 3),
            }
        )
        if share > max_share or refused > max_refusal:
            continue
        key = (round(acc, 6), -share, -w)
        if best2 is None or key > best2[0]:
            best2 = (key, t, w)
    out: dict[str, Any] = {
        "stage1": {"params": ev.__dict__, "accuracy_without_model": round(stage1_acc, 4)},
        "model_asked": asked,
        "model_failures": failures,
        "model_correct": model_hits,
    }
    if best2 is not None:
        out["tuned"] = {**ev.__dict__, "threshold": best2[1], "llm_weight": best2[2], "accuracy": best2[0][0]}
    out["table"] = [r for r in table if r["llm_weight"] in (1.0, 2.0, 4.0, 1e6)]
    return out


def make_service(backend: str, settings: Settings, cache: Path | None) -> tuple[CachedService | None, str]:
    """The (cached) chat service and model name for ``backend``; ``None`` when it does not answer."""
    if backend == "none":
        return None, ""
    inner: Any
    if backend == "llamacpp":
        inner, model = LlamaCppService(settings), settings.planning_model
    else:
        inner, model = OllamaService(settings), settings.ollama_model
    if not inner.is_up():
        print(f"warning: the {backend} server does not answer; measuring without a model", file=sys.stderr)
        return None, ""
    return CachedService(inner, backend, cache), model


def main() -> None:
    """Run everything and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=Path, nargs="+", default=SETS)
    parser.add_argument("--specialists", type=Path, default=None)
    parser.add_argument(
        "--backend",
        choices=["llamacpp", "ollama", "none"],
        default=None,
        help="model server (default: the routing_backend setting)",
    )
    parser.add_argument("--no-llm", action="store_true", help="same as --backend none")
    parser.add_argument("--legacy", action="store_true", help="the rule before file evidence and tuning")
    parser.add_argument("--tune", action="store_true", help="tune the rule on the first --cases set")
    parser.add_argument("--no-cv", action="store_true")
    parser.add_argument("--llm-timeout", type=float, default=90.0)
    parser.add_argument("--llm-cache", type=Path, default=None)
    parser.add_argument("--ollama-host", default=None)
    args = parser.parse_args()
    overrides: dict[str, Any] = {"llama_autostart": False, "ollama_autostart": False}
    if args.ollama_host:
        overrides["ollama_host"] = args.ollama_host
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="sb-bench-")), **overrides)
    backend = "none" if args.no_llm else (args.backend or settings.routing_backend)
    cache = settings.data_dir / "router-cache"
    catalogue = load_catalogue(args.specialists or settings.specialists_dir)
    specs = list(catalogue.specs.values())
    service, model = make_service(backend, settings, args.llm_cache)
    params = LEGACY if args.legacy else PARAMS_BY_BACKEND.get(backend, DEFAULT_PARAMS)
    start = time.perf_counter()
    Router(specs, cache_dir=cache)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    Router(specs, cache_dir=cache)
    load_s = time.perf_counter() - start
    out: dict[str, Any] = {
        "catalogue": sorted(catalogue.specs),
        "backend": backend if service else "none",
        "model": model,
        "rule": "legacy" if args.legacy else "combined",
        "params": params.__dict__,
        "train_s": round(train_s, 3),
        "cached_load_s": round(load_s, 3),
        "sets": {},
    }

    def router() -> Router:
        # a seeded bandit: near-ties are broken the same way in every run
        return Router(
            specs,
            service,
            model=model or "none",
            llm_timeout_s=args.llm_timeout,
            cache_dir=cache,
            combine=params,
            bandit=ThompsonBandit(seed=0),
            llm_backoff_s=0.0,
        )

    if args.tune:
        out["tune"] = tune(router(), load_cases(args.cases[0]))
    for path in args.cases:
        cases = load_cases(path)
        entry: dict[str, Any] = {"cases": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)}
        if not args.no_cv:
            entry["cross_validation"] = cross_validate(specs, cases)
        entry["harness"] = evaluate(router(), cases)
        out["sets"][path.stem] = entry
    if service is not None:
        lat = sorted(service.latencies)
        out["model_calls"] = {
            "new": service.calls,
            "cached": service.hits,
            "median_ms": round(lat[len(lat) // 2], 1) if lat else None,
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""The shipped manifests route the hold-out set (written after the router) well enough.

This is a real check on generalisation: ``tests/data/routing_holdout.jsonl`` was never used to
train or tune the router (see docs/routing.md); a manifest or feature change that makes the
fast router worse on unseen wording fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.core.config import Settings
from app.engine.core.specs import load_catalogue
from app.engine.routing.evaluate import is_correct, load_cases
from app.engine.routing.router import Router

ROOT = Path(__file__).resolve().parents[2]
HOLDOUT = ROOT / "tests/data/routing_holdout.jsonl"


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Router:
    catalogue = load_catalogue(Settings(data_dir=tmp_path_factory.mktemp("data")).specialists_dir)
    return Router(catalogue, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def results(router: Router) -> list[tuple[dict, str]]:
    return [(case, router.decide_fast(case["text"], case.get("files") or []).chosen) for case in load_cases(HOLDOUT)]


def test_holdout_set_is_large_and_varied() -> None:
    cases = load_cases(HOLDOUT)
    assert len(cases) >= 80
    assert sum(1 for c in cases if c["expected"] is None) >= 16
    assert len({c["expected"] for c in cases if c["expected"]}) == 6


def test_fast_router_top1_on_holdout_is_at_least_85_percent(results: list[tuple[dict, str]]) -> None:
    hits = [is_correct(chosen, case) for case, chosen in results]
    misses = [(case["text"][:60], chosen) for (case, chosen), ok in zip(results, hits, strict=True) if not ok]
    assert sum(hits) / len(hits) >= 0.85, misses


def test_every_specialist_is_reached_and_in_scope_tasks_are_rarely_refused(results: list[tuple[dict, str]]) -> None:
    in_scope = [(case, chosen) for case, chosen in results if case["expected"]]
    refused = [case["text"][:60] for case, chosen in in_scope if chosen in ("none", "clarify")]
    assert len(refused) / len(in_scope) <= 0.05, refused
    for sid in {case["expected"] for case, _ in in_scope}:
        rows = [is_correct(chosen, case) for case, chosen in in_scope if case["expected"] == sid]
        assert sum(rows) / len(rows) >= 0.7, sid


def test_injection_attempts_in_holdout_are_all_refused(router: Router) -> None:
    attacks = [
        c
        for c in load_cases(HOLDOUT)
        if c["expected"] is None
        and ("instruction" in c["text"].lower() or "route" in c["text"].lower() or "root" in c["text"].lower())
    ]
    assert len(attacks) >= 5
    for case in attacks:
        assert router.decide(case["text"]).chosen == "none", case["text"]

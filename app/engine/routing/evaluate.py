"""Routing evaluation harness: accuracy, refusals, LLM share and latency per router.

A case is ``{"text", "files", "expected", "acceptable"}``. A route counts when it equals
``expected`` or is in ``acceptable``; ``expected: null`` means the task must be refused, and
both ``none`` and ``clarify`` count as a refusal (neither runs anything).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.routing.decision import CLARIFY, NONE, RouteDecision
from app.engine.routing.router import Router

__all__ = ["is_correct", "evaluate", "load_cases"]


def load_cases(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL case file, skipping blank lines; raises ``ValueError`` naming a bad line."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from exc
        if "text" not in case or "expected" not in case:
            raise ValueError(f"{path}:{number}: needs 'text' and 'expected'")
        cases.append(case)
    return cases


def is_correct(chosen: str, case: Mapping[str, Any]) -> bool:
    """Whether ``chosen`` is an acceptable route for ``case``."""
    expected = case.get("expected")
    if expected is None:
        return chosen in (NONE, CLARIFY)
    return bool(chosen == expected or chosen in (case.get("acceptable") or []))


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


def evaluate(router: Router, cases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Run every case through ``router.decide`` and ``router.decide_fast``; return the figures.

    The fast path is timed separately on every case (it is what an easy task waits for);
    the LLM latency is taken over the cases that reached the LLM.
    """
    cases = list(cases)
    rows: list[tuple[Mapping[str, Any], RouteDecision, RouteDecision]] = []
    for case in cases:
        files = list(case.get("files") or [])
        fast = router.decide_fast(case["text"], files)
        full = router.decide(case["text"], files)
        rows.append((case, fast, full))
    n = len(rows)
    correct = [is_correct(full.chosen, case) for case, _, full in rows]
    fast_correct = [is_correct(fast.chosen, case) for case, fast, _ in rows]
    refusals = [ok for (case, _, _), ok in zip(rows, correct, strict=True) if case.get("expected") is None]
    in_scope = [(case, full) for case, _, full in rows if case.get("expected") is not None]
    llm_lat = [full.llm_latency_ms for _, _, full in rows if full.llm_latency_ms is not None]
    per_specialist: dict[str, float] = {}
    confusion: dict[str, dict[str, int]] = {}
    per_router: dict[str, dict[str, float]] = {}
    for (case, _, full), ok in zip(rows, correct, strict=True):
        label = case.get("expected") or NONE
        confusion.setdefault(label, {})
        confusion[label][full.chosen] = confusion[label].get(full.chosen, 0) + 1
        entry = per_router.setdefault(full.router, {"n": 0, "correct": 0})
        entry["n"] += 1
        entry["correct"] += int(ok)
    for label in sorted(confusion):
        hits = [ok for (case, _, _), ok in zip(rows, correct, strict=True) if (case.get("expected") or NONE) == label]
        per_specialist[label] = round(sum(hits) / len(hits), 4)
    for entry in per_router.values():
        entry["accuracy"] = round(entry["correct"] / entry["n"], 4)
    fast_lat = [fast.fast_latency_ms for _, fast, _ in rows]
    return {
        "n": n,
        "accuracy": round(sum(correct) / n, 4) if n else None,
        "fast_accuracy": round(sum(fast_correct) / n, 4) if n else None,
        "llm_share": round(
            sum(1 for _, _, f in rows if f.llm_latency_ms is not None or f.data.get("llm_attempted")) / n, 4
        )
        if n
        else None,
        "refusal_accuracy": round(sum(refusals) / len(refusals), 4) if refusals else None,
        "false_refusal_rate": round(sum(1 for _, f in in_scope if f.is_refusal) / len(in_scope), 4)
        if in_scope
        else None,
        "schema_violations": sum(1 for _, _, f in rows if f.schema_violation),
        "fast_p50_ms": _pct(fast_lat, 50),
        "fast_p99_ms": _pct(fast_lat, 99),
        "llm_p50_ms": _pct(llm_lat, 50),
        "llm_p99_ms": _pct(llm_lat, 99),
        "threshold": router.threshold,
        "per_specialist": per_specialist,
        "per_router": per_router,
        "confusion": confusion,
    }

"""Accuracy of a specialist's programs as its example bank grew (issue: examples make it better).

Each model-written program's outcome is stored as the metric ``program_success`` and each
natural-suite run's pass rate as ``eval_accuracy``, both with the subject
``<specialist>#<examples in its bank then>``; :func:`growth` groups them by bank size.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.engine.core.views import ExampleGrowthView

__all__ = ["EVAL_METRIC", "LIVE_METRIC", "growth", "subject"]

LIVE_METRIC = "program_success"
EVAL_METRIC = "eval_accuracy"


def subject(specialist: str, examples: int) -> str:
    """The metric subject of one outcome."""
    return f"{specialist}#{examples}"


def growth(
    specialist: str, live: Iterable[tuple[float, float, str]], evals: Iterable[tuple[float, float, str]]
) -> list[ExampleGrowthView]:
    """One row per bank size seen, smallest first; points are ``(ts, value, subject)``."""
    tasks: dict[int, list[float]] = {}
    runs: dict[int, list[tuple[float, float]]] = {}
    for _ts, value, subj in live:
        size = _size(specialist, subj)
        if size is not None:
            tasks.setdefault(size, []).append(value)
    for ts, value, subj in evals:
        size = _size(specialist, subj)
        if size is not None:
            runs.setdefault(size, []).append((ts, value))
    rows = []
    for size in sorted({*tasks, *runs}):
        outcomes, evals_at = tasks.get(size, []), sorted(runs.get(size, []))
        rows.append(
            ExampleGrowthView(
                specialist=specialist,
                examples=size,
                tasks=len(outcomes),
                success_rate=sum(outcomes) / len(outcomes) if outcomes else None,
                eval_runs=len(evals_at),
                eval_accuracy=evals_at[-1][1] if evals_at else None,
            )
        )
    return rows


def _size(specialist: str, subj: str) -> int | None:
    name, _, count = subj.rpartition("#")
    if name != specialist or not count.isdigit():
        return None
    return int(count)

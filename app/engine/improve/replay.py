"""The replay gate: a new variant proves itself on recorded tasks before users see it.

Both the candidate and the incumbent run the same recorded examples (``good`` and ``bad``
labelled: their outcome is known) through an injected runner, so the comparison is paired and
the incumbent's figures are fresh rather than remembered. The runner is the only part that
touches a model: ``run(variant, example) -> ReplayOutcome``; unit tests pass a fake, the engine
and the integration test a real one (:mod:`app.engine.improve.ollama_variants`).

The candidate passes when it is **not worse**: its successes are at least the incumbent's minus
``margin`` x cases (default margin 0), and its p95 latency is at most ``latency_ratio`` (1.1) x
the incumbent's. A runner that raises :class:`EnvironmentUnavailable` (model server down) aborts
the replay: with nothing answering both would fail alike and the gate would pass for nothing.
Any other exception is that case's failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.engine.core.errors import EnvironmentUnavailable
from app.engine.improve.promotion import seconds
from app.engine.improve.stats import Tally
from app.engine.improve.variants import Variant
from app.engine.store.rows import ExampleRecord

__all__ = ["ReplayOutcome", "ReplayReport", "Runner", "replay", "replay_cases"]


@dataclass(frozen=True)
class ReplayOutcome:
    """One recorded task run by one variant."""

    success: bool
    latency_ms: float
    detail: str = ""


Runner = Callable[[Variant, ExampleRecord], ReplayOutcome]


@dataclass(frozen=True)
class ReplayReport:
    """Both variants' figures on the same recorded tasks, and the gate's verdict."""

    candidate: str
    incumbent: str
    cases: int
    candidate_successes: int
    incumbent_successes: int
    candidate_p95_ms: float | None
    incumbent_p95_ms: float | None
    passed: bool
    reason: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures without per-case rows (stored on the variant)."""
        return {
            "candidate": self.candidate,
            "incumbent": self.incumbent,
            "cases": self.cases,
            "candidate_successes": self.candidate_successes,
            "incumbent_successes": self.incumbent_successes,
            "candidate_p95_ms": self.candidate_p95_ms,
            "incumbent_p95_ms": self.incumbent_p95_ms,
            "passed": self.passed,
            "reason": self.reason,
        }


def replay_cases(examples: Sequence[ExampleRecord], limit: int) -> list[ExampleRecord]:
    """The examples a replay uses: known outcomes only, newest first, at most ``limit``."""
    known = [e for e in examples if e.label in ("good", "bad") and not e.removed]
    known.sort(key=lambda e: (-e.ts, e.example_id))
    return known[: max(0, limit)]


def _run_one(run: Runner, variant: Variant, example: ExampleRecord) -> ReplayOutcome:
    start = time.perf_counter()
    try:
        return run(variant, example)
    except EnvironmentUnavailable:
        raise
    except Exception as exc:  # a runner's bug or a model's nonsense fails this case only
        return ReplayOutcome(False, (time.perf_counter() - start) * 1000, f"{type(exc).__name__}: {exc}")


def replay(
    candidate: Variant,
    incumbent: Variant,
    examples: Sequence[ExampleRecord],
    run: Runner,
    *,
    margin: float = 0.0,
    latency_ratio: float = 1.1,
    stop: threading.Event | None = None,
) -> ReplayReport:
    """Run every example on both variants (incumbent first) and apply the gate.

    ``stop`` ends the replay early; the cases run so far are judged. No examples means no
    evidence: the gate then fails (a variant is never let through on nothing).
    """
    cand, inc = Tally(), Tally()
    rows = []
    for example in examples:
        if stop is not None and stop.is_set():
            break
        inc_out = _run_one(run, incumbent, example)
        cand_out = _run_one(run, candidate, example)
        inc.add(inc_out.success, inc_out.latency_ms)
        cand.add(cand_out.success, cand_out.latency_ms)
        rows.append(
            {
                "example_id": example.example_id,
                "incumbent": {"success": inc_out.success, "latency_ms": inc_out.latency_ms, "detail": inc_out.detail},
                "candidate": {
                    "success": cand_out.success,
                    "latency_ms": cand_out.latency_ms,
                    "detail": cand_out.detail,
                },
            }
        )
    n = cand.tasks
    c95, i95 = cand.p95_ms, inc.p95_ms
    sid, cv, iv = candidate.specialist, candidate.label, incumbent.label
    figures = f"{cand.successes}/{n} vs {inc.successes}/{n} recorded tasks, p95 {seconds(c95)} vs {seconds(i95)}"
    if n == 0:
        passed, why = False, f"{sid} {cv} not replayed: no recorded tasks with known outcomes"
    elif cand.successes < inc.successes - margin * n:
        passed, why = False, f"{sid} {cv} failed the replay against {iv}: {figures}"
    elif c95 is not None and i95 is not None and c95 > latency_ratio * i95:
        passed, why = False, f"{sid} {cv} failed the replay against {iv} on latency: {figures}"
    else:
        passed, why = True, f"{sid} {cv} passed the replay against {iv}: {figures}; now gets live traffic"
    return ReplayReport(
        candidate=candidate.id,
        incumbent=incumbent.id,
        cases=n,
        candidate_successes=cand.successes,
        incumbent_successes=inc.successes,
        candidate_p95_ms=c95,
        incumbent_p95_ms=i95,
        passed=passed,
        reason=why,
        rows=rows,
    )

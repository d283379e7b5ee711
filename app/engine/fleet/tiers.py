"""When an idle replica drops to the paused tier: the gaps between tasks against the measured resume cost.

A paused replica (``docker pause``: no CPU, memory kept) is still one of the replicas the
specialist holds; pausing and resuming it is a change of *tier*, not of scale. So the
scaling policy decides how many replicas a specialist holds (running + paused) on its decision
tick, and this rule decides, per replica and per event, whether one that just went idle stays
running or is paused until its next task:

- **at task end** (``Lifecycle.release``, on the dispatcher's thread): pause now when the
  typical recent gap between the specialist's arrivals (the median of the latest regular run
  of gaps, below; else the median of the last 8 within 2 minutes) is at least ``ratio`` × the
  measured resume cost and at least ``min_gap_s``:
  the next task then pays a resume that is small against the time the replica would have idled;
- **on the decision tick** (the safety net, for the end of a burst whose gaps were too short
  at task end): pause idle replicas once the specialist has had no work for
  ``pause_after_s`` = max(``min_gap_s``, ``ratio`` × resume cost, 3 × the typical gap), so a
  replica woken ahead is never paused by the tick before its expected task is overdue.

The resume cost is the p95 of the replica resumes measured by the lifecycle (unpause call), or
``prior_resume_s`` until three were measured.

**Waking ahead.** When the recent gaps are *regular* (the latest ``min_regular`` or more, up
to ``recent``, lie within ``regular_spread`` × their median of each other: a periodic job, a
polling client; a Poisson stream's gaps spread by several times and rarely qualify), the next
arrival can be told, so a replica
paused at task end is resumed ``lead`` seconds before the earliest the next task is due (the
shortest recent gap after the last arrival), where ``lead`` = 2 × the resume cost +
``wake_margin_s``. The task then finds it running and pays no resume, while the replica still
spends most of the gap paused. If no task came by the latest it was due (the longest recent gap
+ ``lead``), the replica is paused again. A pause that would last under ``min_gap_s`` before the
wake is not made at all. Pure functions over plain figures, so unit tests need no clock.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from app.engine.fleet.demand import percentile

__all__ = ["TierRule", "Wake"]


@dataclass(frozen=True)
class Wake:
    """When a paused replica is resumed ahead of its next expected task, and when that task is overdue."""

    at: float  # resume then (clock seconds)
    overdue: float  # pause again if no task came by then
    reason: str


@dataclass(frozen=True)
class TierRule:
    """The figures of the rule (module docstring)."""

    ratio: float = 20.0  # a gap must be this many times the resume cost to be worth a pause
    min_gap_s: float = 1.0  # never change tier more often than this, whatever resumes cost
    prior_resume_s: float = 0.05  # assumed resume cost until three resumes were measured
    recent: int = 8  # gaps that make the typical gap
    min_gaps: int = 4  # fewer say nothing about the pattern
    regular_spread: float = 0.3  # gaps within this share of their median of each other are regular
    min_regular: int = 2  # this many regular gaps in a row tell the next arrival
    wake_margin_s: float = 0.05  # woken this much earlier than 2 x the resume cost before the task is due

    def resume_cost(self, measured_s: Sequence[float]) -> float:
        """p95 of the measured resumes, or the prior while fewer than three were measured."""
        if len(measured_s) < 3:
            return self.prior_resume_s
        return percentile(list(measured_s), 0.95) or self.prior_resume_s

    def typical_gap(self, gaps_s: Sequence[float]) -> float | None:
        """Median of the last ``recent`` gaps (``None`` with fewer than ``min_gaps``)."""
        last = list(gaps_s)[-self.recent :]
        return statistics.median(last) if len(last) >= self.min_gaps else None

    def stream_gap(self, gaps_s: Sequence[float]) -> float | None:
        """The gap the tier decisions go by: of the latest regular run when there is one, else the typical gap.

        The latest gaps, when regular, speak before the median of the last ``recent``: a stream
        that just began after a burst is told by its own gaps (and is then woken ahead).
        """
        run = self.regular_run(gaps_s)
        return statistics.median(run) if len(run) >= self.min_regular else self.typical_gap(gaps_s)

    def pause_at_idle(self, gaps_s: Sequence[float], resume_s: float) -> str | None:
        """Why a replica that just went idle is paused now, or ``None`` to keep it running."""
        gap = self.stream_gap(gaps_s)
        if gap is None or gap < max(self.min_gap_s, self.ratio * resume_s):
            return None
        return f"idle between tasks: typical gap {gap:.1f} s ≥ {self.ratio:g} × resume {resume_s * 1000:.0f} ms"

    def pause_after_s(self, gaps_s: Sequence[float], resume_s: float) -> float:
        """Seconds without work after which the decision tick pauses a specialist's idle replicas."""
        gap = self.stream_gap(gaps_s)
        return max(self.min_gap_s, self.ratio * resume_s, 3.0 * gap if gap is not None else 0.0)

    def regular_run(self, gaps_s: Sequence[float]) -> list[float]:
        """The longest run of the latest gaps (at most ``recent``) that lie within ``regular_spread`` of their median.

        A stream that just became regular (after a burst or a quiet spell) is told by its own gaps,
        not held back by the older ones still in the window.
        """
        last = list(gaps_s)[-self.recent :]
        run: list[float] = []
        for gap in reversed(last):
            candidate = [gap, *run]
            typical = statistics.median(candidate)
            if typical <= 0 or max(candidate) - min(candidate) > self.regular_spread * typical:
                break
            run = candidate
        return run

    def wake_ahead(self, gaps_s: Sequence[float], last_arrival: float, resume_s: float) -> Wake | None:
        """When to resume a replica paused now, if the recent gaps are regular enough to tell."""
        last = self.regular_run(gaps_s)
        if len(last) < self.min_regular:
            return None  # irregular, or regular for too short a while: the next arrival cannot be told
        shortest, longest = min(last), max(last)
        lead = 2.0 * resume_s + self.wake_margin_s
        return Wake(
            at=last_arrival + shortest - lead,
            overdue=last_arrival + longest + lead,
            reason=(
                f"woken {lead * 1000:.0f} ms before the next expected task "
                f"(regular gaps {shortest:.2f}-{longest:.2f} s, resume {resume_s * 1000:.0f} ms)"
            ),
        )

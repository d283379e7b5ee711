"""When an idle replica drops to the paused tier: the gaps between tasks against the measured resume cost.

A paused replica (``docker pause``: no CPU, memory kept) is still one of the replicas the
specialist holds; pausing and resuming it is a change of *tier*, not of scale. So the
scaling policy decides how many replicas a specialist holds (running + paused) on its decision
tick, and this rule decides, per replica and per event, whether one that just went idle stays
running or is paused until its next task:

- **at task end** (``Lifecycle.release``, on the dispatcher's thread): pause now when the
  typical recent gap between the specialist's arrivals (the median of the last 8 within
  2 minutes) is at least ``ratio`` × the measured resume cost and at least ``min_gap_s``:
  the next task then pays a resume that is small against the time the replica would have idled;
- **on the decision tick** (the safety net, for the end of a burst whose gaps were too short
  at task end): pause idle replicas once the specialist has had no work for
  ``pause_after_s`` = max(``min_gap_s``, ``ratio`` × resume cost, 3 × the typical gap).

The resume cost is the p95 of the replica resumes measured by the lifecycle (unpause call), or
``prior_resume_s`` until three were measured. Pure functions over plain figures, so unit tests
need no clock.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from app.engine.fleet.demand import percentile

__all__ = ["TierRule"]


@dataclass(frozen=True)
class TierRule:
    """The figures of the rule (module docstring)."""

    ratio: float = 20.0  # a gap must be this many times the resume cost to be worth a pause
    min_gap_s: float = 1.0  # never change tier more often than this, whatever resumes cost
    prior_resume_s: float = 0.05  # assumed resume cost until three resumes were measured
    recent: int = 8  # gaps that make the typical gap
    min_gaps: int = 4  # fewer say nothing about the pattern

    def resume_cost(self, measured_s: Sequence[float]) -> float:
        """p95 of the measured resumes, or the prior while fewer than three were measured."""
        if len(measured_s) < 3:
            return self.prior_resume_s
        return percentile(list(measured_s), 0.95) or self.prior_resume_s

    def typical_gap(self, gaps_s: Sequence[float]) -> float | None:
        """Median of the last ``recent`` gaps (``None`` with fewer than ``min_gaps``)."""
        last = list(gaps_s)[-self.recent :]
        return statistics.median(last) if len(last) >= self.min_gaps else None

    def pause_at_idle(self, gaps_s: Sequence[float], resume_s: float) -> str | None:
        """Why a replica that just went idle is paused now, or ``None`` to keep it running."""
        gap = self.typical_gap(gaps_s)
        if gap is None or gap < max(self.min_gap_s, self.ratio * resume_s):
            return None
        return f"idle between tasks: typical gap {gap:.1f} s ≥ {self.ratio:g} × resume {resume_s * 1000:.0f} ms"

    def pause_after_s(self, gaps_s: Sequence[float], resume_s: float) -> float:
        """Seconds without work after which the decision tick pauses a specialist's idle replicas."""
        gap = self.typical_gap(gaps_s)
        return max(self.min_gap_s, self.ratio * resume_s, 3.0 * gap if gap is not None else 0.0)

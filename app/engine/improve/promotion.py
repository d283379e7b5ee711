"""The stated rule that promotes a candidate variant or rolls it back (docs/self-improvement.md).

With ``p = P(candidate's success rate > incumbent's)`` from the Beta posteriors of their live
outcomes (:func:`app.engine.improve.stats.prob_better`) and ``N = min_tasks`` (default 30):

1. **Latency rollback**: once the candidate has served N tasks, if its p95 latency exceeds
   ``latency_ratio`` (1.1) x the incumbent's *with confidence*, it is rolled back whatever
   ``p`` says: a distribution-free 95 % lower bound of the candidate's p95 is above 1.1 x a
   95 % upper bound of the incumbent's (:mod:`.stats`; the upper bound needs 59 latencies of
   the incumbent). Bounds, not point estimates: a p95 from 30 samples moves by more than 10 %
   by chance alone, and the benchmark showed better candidates rolled back on that noise.
2. **Promotion**: once the candidate has served N tasks, if ``p >= promote_p`` (0.95) and its
   p95 (point estimate) is at most 1.1 x the incumbent's, it becomes the incumbent and the old
   incumbent is retired. A candidate whose p95 is above 1.1 x, but not confidently, waits.
3. **Rollback**: if ``p <= rollback_p`` (0.05) once the trial (candidate + incumbent since
   the candidate went live) counts N tasks and the candidate itself at least
   ``max(5, N // 3)``, the candidate is retired. The trial count because Thompson sampling
   starves a bad candidate (waiting for N of its own tasks would keep a known-worse variant
   alive for nothing); the candidate's own minimum because three unlucky first tasks must not
   end a good one (the benchmark showed that too).
4. **Inconclusive**: a candidate that reaches ``max_tasks`` of its own (default 10 N), or whose
   trial reaches ``max_trial_tasks`` (default 30 N: a candidate Thompson sampling starves), without
   1-3 is retired; the incumbent stays (changing costs something, a tie is not worth it).

Otherwise the trial goes on. The latency rule only applies when both sides have at least
``min_latency_samples`` measured latencies. Every verdict other than "continue" carries its
reason in words and figures, which the caller publishes as a ``Decision`` event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from app.engine.improve.stats import Tally, p95_lower_bound, p95_upper_bound, prob_better
from app.engine.improve.variants import Variant

__all__ = ["PromotionRule", "Verdict", "judge", "seconds"]

Action = Literal["promote", "rollback", "continue"]


@dataclass(frozen=True)
class PromotionRule:
    """Thresholds of the rule in the module docstring."""

    min_tasks: int = 30
    promote_p: float = 0.95
    rollback_p: float = 0.05
    latency_ratio: float = 1.1
    max_tasks: int | None = None  # None = 10 x min_tasks
    max_trial_tasks: int | None = None  # None = 30 x min_tasks
    min_latency_samples: int = 5

    def __post_init__(self) -> None:
        if self.min_tasks < 1:
            raise ValueError("min_tasks must be at least 1")
        if not 0.5 < self.promote_p < 1.0 or not 0.0 < self.rollback_p < 0.5:
            raise ValueError("need 0.5 < promote_p < 1 and 0 < rollback_p < 0.5")
        if self.latency_ratio < 1.0:
            raise ValueError("latency_ratio must be at least 1")

    @property
    def min_own_tasks(self) -> int:
        """Tasks of its own a candidate needs before rule 3 may roll it back."""
        return max(5, self.min_tasks // 3)

    @property
    def task_cap(self) -> int:
        """Candidate tasks after which an undecided trial ends."""
        return self.max_tasks if self.max_tasks is not None else 10 * self.min_tasks

    @property
    def trial_cap(self) -> int:
        """Trial tasks (both variants) after which an undecided trial ends."""
        return self.max_trial_tasks if self.max_trial_tasks is not None else 30 * self.min_tasks


@dataclass(frozen=True)
class Verdict:
    """What the rule says now about one candidate."""

    action: Action
    p_better: float
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def seconds(ms: float | None) -> str:
    """A latency for people: ``2.1 s``, ``0.35 s``, ``40 ms``; ``-`` when unknown."""
    if ms is None:
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    if ms >= 100:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.0f} ms"


def judge(
    rule: PromotionRule,
    candidate: Variant,
    incumbent: Variant,
    cand: Tally,
    inc: Tally,
    trial_tasks: int | None = None,
) -> Verdict:
    """Apply the rule to a candidate's and the incumbent's live outcomes.

    ``trial_tasks`` is how many tasks both served since the candidate went live (defaults to
    ``cand.tasks + inc.tasks``).
    """
    p = prob_better(cand, inc)
    trial = cand.tasks + inc.tasks if trial_tasks is None else trial_tasks
    c95, i95 = cand.p95_ms, inc.p95_ms
    measured = (
        c95 is not None
        and i95 is not None
        and len(cand.latencies_ms) >= rule.min_latency_samples
        and len(inc.latencies_ms) >= rule.min_latency_samples
    )
    latency_ok = not measured or c95 <= rule.latency_ratio * i95  # type: ignore[operator]
    c95_low = p95_lower_bound(cand.latencies_ms) if measured else None
    i95_high = p95_upper_bound(inc.latencies_ms) if measured else None
    latency_broken = c95_low is not None and i95_high is not None and c95_low > rule.latency_ratio * i95_high
    sid, cv, iv = candidate.specialist, candidate.label, incumbent.label
    figures = f"P(better)={p:.2f} after {cand.tasks} tasks, p95 {seconds(c95)} vs {seconds(i95)}"
    data: dict[str, Any] = {
        "candidate": candidate.id,
        "incumbent": incumbent.id,
        "p_better": round(p, 4),
        "candidate_tasks": cand.tasks,
        "incumbent_tasks": inc.tasks,
        "trial_tasks": trial,
        "candidate_success_rate": cand.success_rate,
        "incumbent_success_rate": inc.success_rate,
        "candidate_p95_ms": c95,
        "candidate_p95_lower_ms": c95_low,
        "incumbent_p95_ms": i95,
        "incumbent_p95_upper_ms": i95_high,
    }
    if cand.tasks >= rule.min_tasks and latency_broken:
        reason = (
            f"rolled back {sid} {cv}, kept {iv}: p95 {seconds(c95)} > {rule.latency_ratio:g} x "
            f"{iv}'s {seconds(i95)} (95 % sure: at least {seconds(c95_low)} vs at most "
            f"{seconds(i95_high)}) after {cand.tasks} tasks "
            f"(P(better)={p:.2f})"
        )
        return Verdict("rollback", p, reason, {**data, "rule": "latency"})
    if cand.tasks >= rule.min_tasks and p >= rule.promote_p and latency_ok:
        return Verdict("promote", p, f"promoted {sid} {cv} over {iv}: {figures}", {**data, "rule": "better"})
    if trial >= rule.min_tasks and cand.tasks >= rule.min_own_tasks and p <= rule.rollback_p:
        reason = f"rolled back {sid} {cv}, kept {iv}: {figures} ({trial} in the trial)"
        return Verdict("rollback", p, reason, {**data, "rule": "worse"})
    if cand.tasks >= rule.task_cap or trial >= rule.trial_cap:
        reason = f"retired {sid} {cv}, kept {iv}: no clear difference, {figures} ({trial} in the trial)"
        return Verdict("rollback", p, reason, {**data, "rule": "inconclusive"})
    return Verdict("continue", p, "", data)

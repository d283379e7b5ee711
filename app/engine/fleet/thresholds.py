"""Scaling thresholds that start from the manifest and then follow what is observed.

Latency: the threshold starts at the manifest's ``scaling.latency_p95_s`` (default: a quarter of
the task timeout). Each decision tick with at least :data:`MIN_TASKS` finished tasks in the
last five minutes moves it a fraction :data:`ALPHA` of the way towards ``HEADROOM`` × the
observed p95 (an exponentially weighted moving average), and it never leaves
[``base / 4``, ``base × 2``]. So a specialist whose tasks normally take 0.2 s gets a tight
threshold and one that normally takes 8 s a loose one, while no run of outliers can push the
threshold past twice the manifest's value or below a quarter of it.

Error rate: starts at ``scaling.max_error_rate`` and follows the observed error rate plus
0.1 the same way, within [0.05, max(base, 0.5)].

A change of more than :data:`PUBLISH_STEP` since the last published value is published as a
``threshold`` :class:`~app.engine.core.events.Decision` (and therefore stored), which is the
history the GUI draws on the latency chart.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.engine.core.specs import SpecialistSpec

__all__ = ["ALPHA", "HEADROOM", "MIN_TASKS", "PUBLISH_STEP", "Thresholds"]

ALPHA = 0.1
HEADROOM = 1.5
MIN_TASKS = 10
PUBLISH_STEP = 0.1


@dataclass
class Thresholds:
    """Current thresholds of one specialist and their bounds."""

    latency_base_s: float
    latency_s: float
    error_base: float
    error_rate: float
    published_latency_s: float
    published_error_rate: float

    @classmethod
    def from_spec(cls, spec: SpecialistSpec) -> Thresholds:
        """Start from the manifest."""
        base = spec.scaling.latency_p95_s or spec.limits.task_timeout_s / 4
        err = spec.scaling.max_error_rate
        return cls(base, base, err, err, base, err)

    @property
    def latency_bounds(self) -> tuple[float, float]:
        """Lowest and highest latency threshold allowed (s)."""
        return self.latency_base_s / 4, self.latency_base_s * 2

    @property
    def error_bounds(self) -> tuple[float, float]:
        """Lowest and highest error-rate threshold allowed."""
        return 0.05, max(self.error_base, 0.5)

    def update(self, p95_s: float | None, error_rate: float, finished: int) -> bool:
        """Move towards the observed figures; ``True`` when a change is worth publishing."""
        if finished < MIN_TASKS:
            return False
        if p95_s is not None:
            low, high = self.latency_bounds
            target = min(high, max(low, p95_s * HEADROOM))
            self.latency_s += ALPHA * (target - self.latency_s)
        low, high = self.error_bounds
        target = min(high, max(low, error_rate + 0.1))
        self.error_rate += ALPHA * (target - self.error_rate)
        moved = (
            abs(self.latency_s - self.published_latency_s) > PUBLISH_STEP * self.published_latency_s
            or abs(self.error_rate - self.published_error_rate) > PUBLISH_STEP * self.published_error_rate
        )
        if moved:
            self.published_latency_s = self.latency_s
            self.published_error_rate = self.error_rate
        return moved

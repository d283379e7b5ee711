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

Cost per task: what the specialist's containers cost over the last five minutes divided by
the tasks they finished — a running replica at ``cpus × cost_per_cpu_hour + memory GB ×
cost_per_gb_hour`` per hour, a paused one at its memory part only (:func:`hourly_cost`, the
rates the task cost charts use), idle time included: that is what scaling changes. It starts at
the manifest's ``scaling.max_cost_per_task``, by default the cost of one task as slow as the
latency threshold on a replica kept at its target utilisation (:func:`default_cost_per_task`),
follows ``HEADROOM`` × the observed cost per task the same way, within [``base / 4``,
``base × 2``]. The controller's adaptive policy uses it where it spends money for speed: above
the threshold it adds no replica for latency alone (tasks waiting for a slot still scale up at
once) and keeps at most one paused replica warm.

A change of more than :data:`PUBLISH_STEP` since the last published value (of any of the
three) is published as a ``threshold`` :class:`~app.engine.core.events.Decision` (and
therefore stored), which is the history the GUI draws on the latency chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.engine.core.config import Settings
from app.engine.core.specs import SpecialistSpec

__all__ = [
    "ALPHA",
    "DEFAULT_CPU_HOUR",
    "DEFAULT_GB_HOUR",
    "HEADROOM",
    "MIN_TASKS",
    "PUBLISH_STEP",
    "Thresholds",
    "default_cost_per_task",
    "hourly_cost",
]

ALPHA = 0.1
HEADROOM = 1.5
MIN_TASKS = 10
PUBLISH_STEP = 0.1
DEFAULT_CPU_HOUR: float = Settings.model_fields["cost_per_cpu_hour"].default  # the settings' own defaults
DEFAULT_GB_HOUR: float = Settings.model_fields["cost_per_gb_hour"].default


def hourly_cost(spec: SpecialistSpec, cpu_hour: float, gb_hour: float, *, paused: bool = False) -> float:
    """Notional cost of one replica of ``spec`` per hour: CPU and memory running, memory only paused."""
    memory = spec.limits.memory_mb / 1024 * gb_hour
    return memory if paused else spec.limits.cpus * cpu_hour + memory


def default_cost_per_task(spec: SpecialistSpec, latency_s: float, cpu_hour: float, gb_hour: float) -> float:
    """Cost of a task taking ``latency_s`` on a replica whose slots are busy at the target utilisation."""
    busy_slots = spec.scaling.concurrency * spec.scaling.target_utilization
    return hourly_cost(spec, cpu_hour, gb_hour) / 3600 * latency_s / busy_slots


@dataclass
class Thresholds:
    """Current thresholds of one specialist and their bounds."""

    latency_base_s: float
    latency_s: float
    error_base: float
    error_rate: float
    published_latency_s: float
    published_error_rate: float
    cost_base: float = math.inf  # inf: no cost threshold (nothing costs anything)
    cost: float = math.inf
    published_cost: float = math.inf

    @classmethod
    def from_spec(
        cls, spec: SpecialistSpec, cpu_hour: float = DEFAULT_CPU_HOUR, gb_hour: float = DEFAULT_GB_HOUR
    ) -> Thresholds:
        """Start from the manifest (and the cost rates, for the default cost per task)."""
        base = spec.scaling.latency_p95_s or spec.limits.task_timeout_s / 4
        err = spec.scaling.max_error_rate
        cost = spec.scaling.max_cost_per_task or default_cost_per_task(spec, base, cpu_hour, gb_hour)
        if cost <= 0:  # free containers (both rates 0): cost never limits anything
            cost = math.inf
        return cls(base, base, err, err, base, err, cost, cost, cost)

    @property
    def latency_bounds(self) -> tuple[float, float]:
        """Lowest and highest latency threshold allowed (s)."""
        return self.latency_base_s / 4, self.latency_base_s * 2

    @property
    def error_bounds(self) -> tuple[float, float]:
        """Lowest and highest error-rate threshold allowed."""
        return 0.05, max(self.error_base, 0.5)

    @property
    def cost_bounds(self) -> tuple[float, float]:
        """Lowest and highest cost-per-task threshold allowed."""
        return self.cost_base / 4, self.cost_base * 2

    def update(self, p95_s: float | None, error_rate: float, finished: int, cost_per_task: float | None = None) -> bool:
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
        if cost_per_task is not None and math.isfinite(self.cost_base):
            low, high = self.cost_bounds
            target = min(high, max(low, cost_per_task * HEADROOM))
            self.cost += ALPHA * (target - self.cost)
        moved = (
            abs(self.latency_s - self.published_latency_s) > PUBLISH_STEP * self.published_latency_s
            or abs(self.error_rate - self.published_error_rate) > PUBLISH_STEP * self.published_error_rate
            or (math.isfinite(self.cost) and abs(self.cost - self.published_cost) > PUBLISH_STEP * self.published_cost)
        )
        if moved:
            self.published_latency_s = self.latency_s
            self.published_error_rate = self.error_rate
            self.published_cost = self.cost
        return moved

"""Thompson sampling over specialists (and later their variants), blended with capability and cost.

Why Thompson sampling: it lets measured success steer allocation while an arm with little
history still gets tried in proportion to how plausibly it is the best (no starvation), and
it needs no tuning schedule. Each arm has a Beta(prior + successes, prior + failures)
posterior; a draw is multiplied by the router's capability score and penalised by expected
latency (including a cold start when no container runs) and cost. Unhealthy arms are avoided
unless nothing else can do the task.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ArmStats", "ThompsonBandit"]


@dataclass
class ArmStats:
    """Running outcome counts and latency/cost averages for one arm."""

    successes: float = 0.0
    failures: float = 0.0
    latency_ms: float | None = None
    cost: float = 0.0

    @property
    def n(self) -> float:
        """Number of observed outcomes."""
        return self.successes + self.failures


class ThompsonBandit:
    """Per-arm Beta posteriors on success, sampled to pick among capable arms.

    Parameters
    ----------
    seed
        Seed of the private RNG (tests pass one for determinism).
    prior
        Beta prior ``(alpha, beta)``: optimistic enough that a new arm gets tried.
    latency_weight
        Score lost per second of expected latency.
    cost_weight
        Score lost per unit of notional cost.
    default_cold_start_ms
        Start time assumed for a specialist with no running container and no measurement.
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        prior: tuple[float, float] = (2.0, 1.0),
        latency_weight: float = 0.05,
        cost_weight: float = 1.0,
        default_cold_start_ms: float = 1500.0,
    ) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.prior = prior
        self.latency_weight = latency_weight
        self.cost_weight = cost_weight
        self.default_cold_start_ms = default_cold_start_ms
        self.arms: dict[str, ArmStats] = {}

    def update(self, arm: str, success: bool, latency_ms: float | None = None, cost: float | None = None) -> None:
        """Record one outcome; latency and cost are exponentially weighted (recent runs count more)."""
        with self._lock:
            stats = self.arms.setdefault(arm, ArmStats())
            if success:
                stats.successes += 1
            else:
                stats.failures += 1
            if latency_ms is not None:
                stats.latency_ms = latency_ms if stats.latency_ms is None else 0.8 * stats.latency_ms + 0.2 * latency_ms
            if cost is not None:
                stats.cost = 0.8 * stats.cost + 0.2 * cost if stats.n > 1 else cost

    def sample(self, arm: str) -> float:
        """One draw of the arm's success probability."""
        with self._lock:
            stats = self.arms.get(arm, ArmStats())
            return self._rng.betavariate(self.prior[0] + stats.successes, self.prior[1] + stats.failures)

    def score(self, arm: str, capability: float, state: Mapping[str, Any] | None = None) -> float:
        """Sampled utility of sending the task to ``arm`` now."""
        state = state or {}
        stats = self.arms.get(arm, ArmStats())
        expected_ms = stats.latency_ms or 0.0
        running = bool(state.get("running", state.get("replicas", 0)))
        if not running:
            expected_ms += float(state.get("cold_start_ms", self.default_cold_start_ms))
        return (
            capability * self.sample(arm) - self.latency_weight * expected_ms / 1000.0 - self.cost_weight * stats.cost
        )

    def choose(
        self, candidates: Mapping[str, float], state: Mapping[str, Mapping[str, Any]] | None = None
    ) -> tuple[str, dict[str, float]]:
        """Pick the arm with the best sampled score; unhealthy arms only when all are unhealthy.

        ``candidates`` maps arm -> capability score (e.g. the fast router's probability);
        ``state`` maps arm (or its specialist id, the part before ``:``) to
        ``{"running": bool, "healthy": bool, "cold_start_ms": float}``.
        """
        if not candidates:
            raise ValueError("no candidates to choose from")
        state = state or {}

        def arm_state(arm: str) -> Mapping[str, Any]:
            return state.get(arm) or state.get(arm.split(":", 1)[0]) or {}

        healthy = [a for a in candidates if arm_state(a).get("healthy", True)]
        pool = healthy or list(candidates)
        scores = {a: self.score(a, candidates[a], arm_state(a)) for a in pool}
        best = max(scores, key=lambda a: scores[a])
        return best, scores

"""Seeded Thompson sampling: prefers the better arm over time, still explores a new arm."""

from __future__ import annotations

import random

from app.engine.routing.bandit import ThompsonBandit


def _simulate(bandit: ThompsonBandit, rates: dict[str, float], rounds: int, seed: int) -> dict[str, int]:
    world = random.Random(seed)
    picks = dict.fromkeys(rates, 0)
    state = {arm: {"running": True} for arm in rates}
    for _ in range(rounds):
        arm, _scores = bandit.choose(dict.fromkeys(rates, 1.0), state)
        picks[arm] += 1
        bandit.update(arm, world.random() < rates[arm], latency_ms=100.0)
    return picks


def test_prefers_the_better_arm_over_time() -> None:
    picks = _simulate(ThompsonBandit(seed=7), {"good": 0.9, "bad": 0.3}, 300, seed=1)
    assert picks["good"] > 3 * picks["bad"]
    assert picks["bad"] > 0


def test_is_deterministic_with_a_seed() -> None:
    a = _simulate(ThompsonBandit(seed=3), {"x": 0.6, "y": 0.5}, 100, seed=2)
    b = _simulate(ThompsonBandit(seed=3), {"x": 0.6, "y": 0.5}, 100, seed=2)
    assert a == b


def test_new_arm_is_still_explored() -> None:
    bandit = ThompsonBandit(seed=11)
    for _ in range(30):
        bandit.update("veteran", True)
    for _ in range(10):
        bandit.update("veteran", False)
    picks = _simulate(bandit, {"veteran": 0.75, "newcomer": 0.75}, 200, seed=5)
    assert picks["newcomer"] >= 10


def test_unhealthy_arm_is_avoided_unless_alone() -> None:
    bandit = ThompsonBandit(seed=1)
    state = {"a": {"healthy": False, "running": True}, "b": {"healthy": True, "running": True}}
    assert all(bandit.choose({"a": 1.0, "b": 0.5}, state)[0] == "b" for _ in range(50))
    assert bandit.choose({"a": 1.0}, state)[0] == "a"


def test_cold_start_and_latency_cost_score() -> None:
    bandit = ThompsonBandit(seed=4)
    warm = [bandit.score("s", 1.0, {"running": True}) for _ in range(200)]
    cold = [bandit.score("s", 1.0, {"running": False, "cold_start_ms": 4000}) for _ in range(200)]
    assert sum(warm) / 200 > sum(cold) / 200 + 0.1


def test_variant_arms_read_the_specialist_state() -> None:
    bandit = ThompsonBandit(seed=2)
    state = {"numerical": {"healthy": False}}
    choice, _ = bandit.choose({"numerical:v2": 1.0, "other": 0.2}, state)
    assert choice == "other"

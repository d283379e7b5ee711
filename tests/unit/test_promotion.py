"""The promotion/rollback rule, the replay gate, and both acting through the store and the bus."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.errors import BadInput, OllamaUnavailable
from app.engine.core.events import Decision, EventBus
from app.engine.core.specs import load_catalogue
from app.engine.improve import (
    Improvement,
    ImprovementConfig,
    PromotionRule,
    ReplayOutcome,
    Tally,
    Variant,
    VariantState,
    judge,
    prob_better,
    replay,
)
from app.engine.store import ExampleRecord, Store

SPECIALISTS = Path(__file__).resolve().parents[2] / "specialists"
INC = Variant(specialist="numerical", version=1, state=VariantState.INCUMBENT, base_model="m")
CAND = Variant(specialist="numerical", version=2, state=VariantState.CANDIDATE, base_model="m")


def _tally(successes: int, failures: int, latency_ms: float) -> Tally:
    return Tally.of([(True, latency_ms)] * successes + [(False, latency_ms)] * failures)


# ---------------------------------------------------------------- the posterior


@pytest.mark.parametrize(("a", "b", "c", "d"), [(5, 1, 3, 3), (40, 10, 30, 20), (3, 0, 27, 0), (120, 30, 12, 3)])
def test_prob_better_matches_sampling_and_is_complementary(a: int, b: int, c: int, d: int) -> None:
    rng = random.Random(11)
    draws = 100_000
    sampled = sum(rng.betavariate(1 + a, 1 + b) > rng.betavariate(1 + c, 1 + d) for _ in range(draws)) / draws
    exact = prob_better(Tally(a, b), Tally(c, d))
    assert abs(exact - sampled) < 0.006
    assert abs(exact + prob_better(Tally(c, d), Tally(a, b)) - 1.0) < 1e-9


def test_prob_better_of_equal_evidence_is_a_half_and_moves_with_evidence() -> None:
    assert prob_better(Tally(), Tally()) == pytest.approx(0.5)
    assert prob_better(Tally(20, 20), Tally(20, 20)) == pytest.approx(0.5)
    assert prob_better(Tally(400, 100), Tally(300, 200)) > 0.9999  # large counts stay finite


# ---------------------------------------------------------------- the rule


def test_no_decision_before_n_tasks_however_good_it_looks() -> None:
    rule = PromotionRule(min_tasks=30)
    verdict = judge(rule, CAND, INC, _tally(29, 0, 100), _tally(10, 10, 100))
    assert verdict.action == "continue" and verdict.p_better > 0.99


def test_promotion_needs_n_tasks_p_095_and_latency_within_1_1() -> None:
    rule = PromotionRule(min_tasks=30)
    verdict = judge(rule, CAND, INC, _tally(36, 5, 2100), _tally(25, 16, 2300))
    assert verdict.action == "promote"
    assert verdict.p_better >= 0.95
    assert verdict.reason.startswith("promoted numerical v2 over v1: P(better)=")
    assert "after 41 tasks, p95 2.1 s vs 2.3 s" in verdict.reason
    assert verdict.data["rule"] == "better" and verdict.data["candidate_tasks"] == 41


def test_a_better_but_slow_candidate_is_rolled_back_on_latency() -> None:
    rule = PromotionRule(min_tasks=30)
    inc = _tally(50, 30, 2300)  # 80 latencies: enough for an upper bound of its p95
    verdict = judge(rule, CAND, INC, _tally(36, 5, 2600), inc)  # 2.6 > 1.1 x 2.3
    assert verdict.p_better > 0.99 and verdict.action == "rollback" and verdict.data["rule"] == "latency"
    assert "p95 2.6 s > 1.1 x v1's 2.3 s (95 % sure: at least 2.6 s vs at most 2.3 s)" in verdict.reason
    just_inside = judge(rule, CAND, INC, _tally(36, 5, 2500), inc)  # 2.5 <= 2.53
    assert just_inside.action == "promote"
    young = judge(rule, CAND, INC, _tally(36, 5, 2600), _tally(30, 20, 2300))  # 50 latencies: no bound yet
    assert young.action == "continue" and young.data["incumbent_p95_upper_ms"] is None


def test_a_p95_that_is_high_only_by_chance_holds_promotion_back_but_does_not_roll_back() -> None:
    rule = PromotionRule(min_tasks=30)
    # 36 tasks at 2.0 s and 5 at 3.0 s: p95 3.0 s > 1.1 x 2.3 s, but its 95 % lower bound is 2.0 s
    noisy = Tally.of([(True, 2000.0)] * 36 + [(True, 3000.0)] * 5)
    verdict = judge(rule, CAND, INC, noisy, _tally(25, 16, 2300))
    assert verdict.p_better > 0.99 and verdict.action == "continue"
    assert verdict.data["candidate_p95_ms"] == 3000.0 and verdict.data["candidate_p95_lower_ms"] == 2000.0


def test_p95_lower_bound_is_below_the_true_p95_about_95_percent_of_the_time() -> None:
    from app.engine.improve.stats import p95_lower_bound, p95_upper_bound

    rng = random.Random(5)
    true_p95 = 2000.0 * 2.718281828 ** (0.25 * 1.6448536)  # log-normal(ln 2000, 0.25)
    low_misses = high_misses = 0
    for _ in range(1000):
        sample = [2000.0 * rng.lognormvariate(0.0, 0.25) for _ in range(80)]
        low, high = p95_lower_bound(sample), p95_upper_bound(sample)
        assert low is not None and high is not None and low <= high
        low_misses += low > true_p95
        high_misses += high < true_p95
    assert low_misses / 1000 <= 0.07 and high_misses / 1000 <= 0.07  # the 5 % promised, plus slack
    assert p95_upper_bound([1.0] * 58) is None and p95_upper_bound([1.0] * 59) == 1.0
    assert p95_lower_bound([]) is None
    assert p95_lower_bound([1.0, 2.0]) == 1.0  # the smaller of two is below the p95 with 99.75 %


def test_rollback_when_p_falls_to_005_counts_the_trial_and_a_few_own_tasks() -> None:
    rule = PromotionRule(min_tasks=30)
    assert rule.min_own_tasks == 10
    # Thompson starved the candidate: 10 tasks of its own, 40 in the trial
    verdict = judge(rule, CAND, INC, _tally(2, 8, 100), _tally(30, 4, 100), trial_tasks=40)
    assert verdict.action == "rollback" and verdict.p_better <= 0.05 and verdict.data["rule"] == "worse"
    assert verdict.reason.startswith("rolled back numerical v2, kept v1: P(better)=0.00 after 10 tasks")
    assert verdict.reason.endswith("(40 in the trial)")
    unlucky_start = judge(rule, CAND, INC, _tally(0, 3, 100), _tally(30, 4, 100), trial_tasks=40)
    assert unlucky_start.p_better <= 0.05 and unlucky_start.action == "continue"  # 3 tasks end nothing
    too_early = judge(rule, CAND, INC, _tally(2, 8, 100), _tally(15, 4, 100), trial_tasks=25)
    assert too_early.action == "continue"


def test_an_undecided_trial_ends_at_the_cap_keeping_the_incumbent() -> None:
    rule = PromotionRule(min_tasks=30, max_tasks=100)
    verdict = judge(rule, CAND, INC, _tally(70, 30, 100), _tally(70, 30, 100))
    assert verdict.action == "rollback" and verdict.data["rule"] == "inconclusive"
    assert judge(rule, CAND, INC, _tally(69, 30, 100), _tally(70, 30, 100)).action == "continue"
    starved = judge(PromotionRule(min_tasks=30), CAND, INC, _tally(3, 5, 100), _tally(600, 300, 100), trial_tasks=900)
    assert starved.action == "rollback" and starved.data["rule"] == "inconclusive"
    assert "(900 in the trial)" in starved.reason


def test_rule_thresholds_are_checked() -> None:
    with pytest.raises(ValueError):
        PromotionRule(promote_p=0.4)
    with pytest.raises(ValueError):
        PromotionRule(latency_ratio=0.9)


# ---------------------------------------------------------------- the replay gate


def _examples(n: int) -> list[ExampleRecord]:
    return [
        ExampleRecord(
            specialist="numerical",
            example_id=f"t-{i}",
            source="outcome",
            label="good",
            text=f"task {i}",
            ts=float(i),
            created_at=float(i),
        )
        for i in range(n)
    ]


def _runner(rates: Mapping[str, int], latency: Mapping[str, float]) -> Any:
    """Variant id -> how many of the first examples it gets right."""

    def run(variant: Variant, example: ExampleRecord) -> ReplayOutcome:
        index = int(example.example_id.split("-")[1])
        return ReplayOutcome(index < rates[variant.id], latency[variant.id])

    return run


def test_replay_passes_a_candidate_that_is_not_worse_and_fails_a_worse_one() -> None:
    cases = _examples(10)
    ok = replay(CAND, INC, cases, _runner({CAND.id: 8, INC.id: 8}, {CAND.id: 100, INC.id: 100}))
    assert ok.passed and ok.cases == 10 and ok.candidate_successes == 8
    assert "8/10 vs 8/10" in ok.reason
    worse = replay(CAND, INC, cases, _runner({CAND.id: 7, INC.id: 8}, {CAND.id: 100, INC.id: 100}))
    assert not worse.passed and "failed the replay against v1" in worse.reason
    slow = replay(CAND, INC, cases, _runner({CAND.id: 9, INC.id: 8}, {CAND.id: 120, INC.id: 100}))
    assert not slow.passed and "on latency" in slow.reason
    lenient = replay(CAND, INC, cases, _runner({CAND.id: 7, INC.id: 8}, {CAND.id: 100, INC.id: 100}), margin=0.1)
    assert lenient.passed


def test_replay_on_nothing_fails_and_a_dead_model_server_aborts() -> None:
    assert not replay(CAND, INC, [], _runner({}, {})).passed

    def down(_v: Variant, _e: ExampleRecord) -> ReplayOutcome:
        raise OllamaUnavailable("Ollama does not answer")

    with pytest.raises(OllamaUnavailable):
        replay(CAND, INC, _examples(3), down)

    def buggy(v: Variant, _e: ExampleRecord) -> ReplayOutcome:
        if v.id == CAND.id:
            raise KeyError("plan")
        return ReplayOutcome(True, 5.0)

    report = replay(CAND, INC, _examples(3), buggy)
    assert not report.passed and report.candidate_successes == 0
    assert "KeyError" in report.rows[0]["candidate"]["detail"]


# ---------------------------------------------------------------- through the store and the bus


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _improvement(store: Store, bus: EventBus, clock: Clock, **config: Any) -> Improvement:
    specs = load_catalogue(SPECIALISTS).specs
    return Improvement(
        lambda: store,
        bus,
        specs,
        base_model="smollm2-135m",
        config=ImprovementConfig(**config),
        rng=random.Random(4),
        clock=clock,
    )


def _with_candidate(store: Store, imp: Improvement, clock: Clock) -> Variant:
    v1 = imp.variants("numerical")[0]
    cand = Variant(
        specialist="numerical",
        version=2,
        state=VariantState.CANDIDATE,
        base_model=v1.base_model,
        system_prompt=v1.system_prompt,
        parent=v1.id,
        created_at=clock(),
        live_since=clock(),
    )
    store.add_variant(cand.fields()).result(5)
    imp._forget("numerical")
    return cand


def test_live_outcomes_promote_a_better_candidate_with_a_decision(store: Store) -> None:
    bus, clock, decisions = EventBus(), Clock(), []
    bus.subscribe(Decision, decisions.append)
    imp = _improvement(store, bus, clock, rule=PromotionRule(min_tasks=30))
    assert decisions == []  # nothing happens before first use
    cand = _with_candidate(store, imp, clock)
    assert [d.kind for d in decisions] == ["variant_created"]  # v1, from the manifest
    rng = random.Random(9)
    verdicts = []
    for _ in range(400):
        chosen = imp.choose("numerical")
        assert chosen is not None and chosen.specialist == "numerical"
        rate = 0.9 if chosen.id == cand.id else 0.6
        verdicts += imp.record(chosen.id, rng.random() < rate, latency_ms=200.0)
        if verdicts:
            break
    assert [v.action for v in verdicts] == ["promote"]
    promoted = [d for d in decisions if d.kind == "variant_promoted"]
    assert len(promoted) == 1 and promoted[0].subject == "numerical"
    assert promoted[0].reason.startswith("promoted numerical v2 over v1: P(better)=")
    assert promoted[0].data["p_better"] >= 0.95 and promoted[0].data["candidate_tasks"] >= 30
    states = {r.id: r.state for r in store.list_variants("numerical").result(5)}
    assert states == {"numerical-v1": "retired", "numerical-v2": "incumbent"}
    assert all(imp.choose("numerical").id == cand.id for _ in range(20))  # type: ignore[union-attr]
    outcomes = store.variant_outcomes("numerical", source="live").result(5)
    assert len(outcomes) == promoted[0].data["trial_tasks"]
    assert {o.variant_id for o in outcomes} == {"numerical-v1", "numerical-v2"}
    assert all(o.source == "live" and o.latency_ms == 200.0 for o in outcomes)


def test_live_outcomes_roll_back_a_worse_candidate(store: Store) -> None:
    bus, clock, decisions = EventBus(), Clock(), []
    bus.subscribe(Decision, decisions.append)
    imp = _improvement(store, bus, clock, chooser="ab", ab_share=0.5, rule=PromotionRule(min_tasks=20))
    cand = _with_candidate(store, imp, clock)
    rng = random.Random(2)
    for _ in range(500):
        chosen = imp.choose("numerical")
        assert chosen is not None
        if imp.record(chosen.id, rng.random() < (0.3 if chosen.id == cand.id else 0.9), latency_ms=100.0):
            break
    rolled = [d for d in decisions if d.kind == "variant_rolled_back"]
    assert len(rolled) == 1 and rolled[0].reason.startswith("rolled back numerical v2, kept v1")
    assert rolled[0].data["p_better"] <= 0.05
    states = {r.id: r.state for r in store.list_variants("numerical").result(5)}
    assert states == {"numerical-v1": "incumbent", "numerical-v2": "retired"}


def test_replay_gate_through_the_service_sets_state_and_publishes(store: Store) -> None:
    bus, clock, decisions = EventBus(), Clock(), []
    bus.subscribe(Decision, decisions.append)
    imp = _improvement(store, bus, clock)
    v1 = imp.variants("numerical")[0]
    for n, passes in ((2, True), (3, False)):
        pending = Variant(
            specialist="numerical",
            version=n,
            state=VariantState.PENDING,
            base_model="m",
            parent=v1.id,
            created_at=clock(),
        )
        store.add_variant(pending.fields()).result(5)
        imp._forget("numerical")
        store.insert_task(
            {
                "id": f"task{n}",
                "text": f"integrate x^{n}",
                "state": "succeeded",
                "specialist": "numerical",
                "finished_at": clock(),
                "duration_ms": 10.0,
            }
        ).result(5)

        def run(variant: Variant, _e: ExampleRecord, good: bool = passes, cand: str = pending.id) -> ReplayOutcome:
            return ReplayOutcome(good or variant.id != cand, 50.0)

        report = imp.replay("numerical", run)
        assert report.passed is passes and report.cases == n - 1
        state = {r.id: r for r in store.list_variants("numerical").result(5)}[pending.id]
        assert state.state == ("candidate" if passes else "retired")
        assert state.replay is not None and state.replay["cases"] == n - 1
        assert (state.live_since is not None) is passes
        assert decisions[-1].kind == ("variant_replayed" if passes else "variant_rejected")
        if passes:  # the next one may only be made after this trial ends
            store.update_variants([(pending.id, {"state": "retired"})]).result(5)
            imp._forget("numerical")
    replays = store.variant_outcomes("numerical", source="replay").result(5)
    assert len(replays) == 2 * (1 + 2)
    with pytest.raises(BadInput, match="no pending variant"):
        imp.replay("numerical", lambda _v, _e: ReplayOutcome(True, 1.0))

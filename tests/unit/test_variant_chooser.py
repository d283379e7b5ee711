"""The variant chooser: Thompson sampling or a fixed A/B split among ONE specialist's variants."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from app.engine.improve import Tally, Variant, VariantChooser, VariantState


def _v(version: int, state: VariantState, specialist: str = "numerical") -> Variant:
    return Variant(specialist=specialist, version=version, state=state, base_model="m")


INC, CAND = _v(1, VariantState.INCUMBENT), _v(2, VariantState.CANDIDATE)


def test_thompson_is_deterministic_with_a_seeded_random() -> None:
    tallies = {INC.id: Tally(5, 5), CAND.id: Tally(6, 4)}
    picks = []
    for _ in range(2):
        chooser = VariantChooser("thompson", random.Random(123))
        picks.append([chooser.choose([INC, CAND], tallies).id for _ in range(200)])  # type: ignore[union-attr]
    assert picks[0] == picks[1]
    assert len(set(picks[0])) == 2  # both arms get traffic at this level of evidence
    other = VariantChooser("thompson", random.Random(124))
    assert [other.choose([INC, CAND], tallies).id for _ in range(200)] != picks[0]  # type: ignore[union-attr]


def test_thompson_starves_a_clearly_worse_candidate() -> None:
    chooser = VariantChooser("thompson", random.Random(7))
    tallies = {INC.id: Tally(80, 20), CAND.id: Tally(20, 80)}
    counts = Counter(chooser.choose([INC, CAND], tallies).id for _ in range(1000))  # type: ignore[union-attr]
    assert counts[CAND.id] < 10


def test_thompson_favours_a_clearly_better_candidate() -> None:
    chooser = VariantChooser("thompson", random.Random(7))
    tallies = {INC.id: Tally(30, 30), CAND.id: Tally(45, 5)}
    counts = Counter(chooser.choose([INC, CAND], tallies).id for _ in range(1000))  # type: ignore[union-attr]
    assert counts[CAND.id] > 980


def test_ab_split_gives_the_candidate_its_fixed_share_whatever_the_figures() -> None:
    chooser = VariantChooser("ab", random.Random(3), ab_share=0.2)
    tallies = {INC.id: Tally(100, 0), CAND.id: Tally(0, 100)}  # the candidate is hopeless: still 20 %
    counts = Counter(chooser.choose([INC, CAND], tallies).id for _ in range(5000))  # type: ignore[union-attr]
    assert abs(counts[CAND.id] / 5000 - 0.2) < 0.03


def test_ab_split_shares_the_candidate_part_between_candidates() -> None:
    third = _v(3, VariantState.CANDIDATE)
    chooser = VariantChooser("ab", random.Random(5), ab_share=0.5)
    counts = Counter(chooser.choose([INC, CAND, third], {}).id for _ in range(6000))  # type: ignore[union-attr]
    assert abs(counts[INC.id] / 6000 - 0.5) < 0.03
    assert abs(counts[CAND.id] - counts[third.id]) / 6000 < 0.04


def test_only_incumbent_and_candidates_are_eligible() -> None:
    pending, retired = _v(3, VariantState.PENDING), _v(4, VariantState.RETIRED)
    for kind in ("thompson", "ab"):
        chooser = VariantChooser(kind, random.Random(1))  # type: ignore[arg-type]
        seen = {chooser.choose([INC, pending, retired], {}).id for _ in range(300)}  # type: ignore[union-attr]
        assert seen == {INC.id}  # no live candidate: the incumbent always
        assert chooser.choose([pending, retired], {}) is None  # no incumbent: the caller's default


def test_the_chooser_never_crosses_specialists() -> None:
    chooser = VariantChooser("thompson", random.Random(1))
    foreign = _v(2, VariantState.CANDIDATE, specialist="database")
    with pytest.raises(ValueError, match="several specialists"):
        chooser.choose([INC, foreign], {})
    picks = {chooser.choose([INC, CAND], {}).specialist for _ in range(100)}  # type: ignore[union-attr]
    assert picks == {"numerical"}


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="thompson or ab"):
        VariantChooser("greedy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ab_share"):
        VariantChooser("ab", ab_share=1.0)

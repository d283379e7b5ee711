"""Fast router on a tiny synthetic catalogue: learns from manifests, refuses, learns feedback."""

from __future__ import annotations

import pytest

from app.engine.core.specs import SpecialistSpec
from app.engine.routing.fast import NONE, FastRouter
from app.engine.routing.router import Router


def _spec(sid: str, description: str, caps: list[str], tasks: list[str], inputs: list[str]) -> SpecialistSpec:
    return SpecialistSpec(
        id=sid,
        title=sid.title(),
        description=description,
        capabilities=tuple(caps),
        example_tasks=tuple(tasks),
        accepted_inputs=tuple(inputs),
    )


@pytest.fixture(scope="module")
def specs() -> list[SpecialistSpec]:
    return [
        _spec(
            "astro",
            "Star charts, planet positions and telescope observation planning.",
            ["planet positions", "star charts", "eclipses"],
            ["where is mars tonight", "next solar eclipse"],
            [".fits"],
        ),
        _spec(
            "cooking",
            "Recipes, ingredient substitutions and oven temperatures for baking.",
            ["recipes", "substitutions", "baking"],
            ["bake a sourdough loaf", "replace eggs in a cake"],
            [".recipe"],
        ),
        _spec(
            "legal",
            "Contract clauses, lease agreements and terms of service review.",
            ["contracts", "leases", "clauses"],
            ["review this lease", "explain the indemnity clause"],
            [".docx"],
        ),
    ]


def test_routes_paraphrases_to_the_right_specialist(specs: list[SpecialistSpec]) -> None:
    router = FastRouter(specs)
    assert router.predict("when can I see the planet jupiter through my telescope").best == "astro"
    assert router.predict("which substitution for butter works in a baking recipe").best == "cooking"
    assert router.predict("is this clause in my rental lease enforceable").best == "legal"


def test_probabilities_cover_every_label_and_sum_to_one(specs: list[SpecialistSpec]) -> None:
    result = FastRouter(specs).predict("bake bread")
    assert set(result.probs) == {"astro", "cooking", "legal", NONE}
    assert sum(result.probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert result.confidence == max(result.probs.values())


def test_file_extension_meaning_is_learned_from_accepted_inputs(specs: list[SpecialistSpec]) -> None:
    router = FastRouter(specs)
    assert router.predict("", ["m31_night2.fits"]).best == "astro"
    assert router.predict("", ["grandma.recipe"]).best == "cooking"


def test_out_of_scope_text_is_none(specs: list[SpecialistSpec]) -> None:
    router = FastRouter(specs)
    assert router.predict("zzqx vvbw kkjh").best == NONE  # shares nothing with the catalogue
    assert router.predict("tell me a joke").best == NONE


def test_feedback_moves_the_router(specs: list[SpecialistSpec]) -> None:
    router = FastRouter(specs)
    text = "how long should the brisket rest"
    before = router.predict(text).probs["cooking"]
    router.train([("how long should the brisket rest", "cooking"), ("smoke a brisket overnight", "cooking")])
    assert router.predict(text).probs["cooking"] > before
    assert router.predict(text).best == "cooking"


def test_empty_or_tiny_text_asks_to_clarify(specs: list[SpecialistSpec]) -> None:
    router = Router(specs)
    for text in ("", "   ", "?", "help"):
        decision = router.decide(text)
        assert decision.chosen == "clarify" and decision.question
    assert router.decide("", ["andromeda.fits"]).chosen == "astro"


def test_decision_names_router_and_gives_one_sentence(specs: list[SpecialistSpec]) -> None:
    decision = Router(specs).decide("plan my telescope session to watch the eclipse")
    view = decision.to_view()
    assert view.router == "fast" and view.chosen == "astro"
    assert view.rationale.endswith(".") and view.rationale.count(". ") == 0
    assert set(view.scores) == {"astro", "cooking", "legal", NONE}


def test_fast_router_trains_quickly_and_answers_fast(specs: list[SpecialistSpec]) -> None:
    router = FastRouter(specs)
    result = router.predict("what is the oven temperature for a pavlova")
    assert result.latency_ms < 50  # generous: a functional bound, the benchmark measures p50/p99

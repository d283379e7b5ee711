"""The fast router's disk cache: same answers from a cached fit, new key for new data, safe on damage."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.engine.core.specs import SpecialistSpec
from app.engine.routing.fast import FastRouter, default_cache_dir

SPECS = [
    SpecialistSpec(
        id="garden",
        title="Garden",
        description="Plants, soil, pruning and watering schedules for gardens.",
        capabilities=("pruning", "soil"),
        example_tasks=("when to prune roses",),
        routing_examples=("how often should I water tomatoes", "is my soil too acidic for blueberries"),
        accepted_inputs=(".plant",),
    ),
    SpecialistSpec(
        id="bikes",
        title="Bikes",
        description="Bicycle repair: brakes, gears, chains and tyres.",
        capabilities=("brakes", "gears"),
        example_tasks=("adjust the rear derailleur",),
        routing_examples=("my chain keeps slipping on the smallest cog", "bleed hydraulic disc brakes"),
        accepted_inputs=(".bike",),
    ),
]
QUERIES = ["the tomatoes need watering how often", "gears skip under load", "tell me a joke", ""]


def _answers(router: FastRouter) -> list[tuple[str, list[float]]]:
    return [(r.best, [round(v, 6) for v in r.probs.values()]) for r in map(router.predict, QUERIES)]


def test_cached_fit_gives_identical_answers(tmp_path: Path) -> None:
    first = FastRouter(SPECS, cache_dir=tmp_path)
    assert not first.cache_hit and len(list(tmp_path.glob("fast-*.npz"))) == 1
    start = time.perf_counter()
    second = FastRouter(SPECS, cache_dir=tmp_path)
    assert second.cache_hit
    assert time.perf_counter() - start < 0.5
    assert _answers(first) == _answers(second)


def test_feedback_and_manifest_changes_use_a_new_key(tmp_path: Path) -> None:
    router = FastRouter(SPECS, cache_dir=tmp_path)
    router.train([("compost heap smells", "garden")])
    assert len(list(tmp_path.glob("fast-*.npz"))) == 2
    changed = [SPECS[0].model_copy(update={"routing_examples": ("hedge trimming in june",)}), SPECS[1]]
    assert not FastRouter(changed, cache_dir=tmp_path).cache_hit
    # The same feedback replayed on a fresh router hits the cache entry written above.
    again = FastRouter(SPECS, cache_dir=tmp_path)
    again.train([("compost heap smells", "garden")])
    assert again.cache_hit


def test_damaged_cache_file_means_retrain_not_crash(tmp_path: Path) -> None:
    FastRouter(SPECS, cache_dir=tmp_path)
    for path in tmp_path.glob("fast-*.npz"):
        path.write_bytes(b"not a zip")
    router = FastRouter(SPECS, cache_dir=tmp_path)
    assert not router.cache_hit
    assert router.predict("bleed the brakes").best == "bikes"


def test_cache_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_ROUTER_CACHE", "off")
    assert default_cache_dir() is None
    monkeypatch.setenv("SWITCHBOARD_ROUTER_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    FastRouter(SPECS, cache_dir=False)
    assert not (tmp_path / "c").exists()


def test_routing_examples_train_the_router(tmp_path: Path) -> None:
    # "slipping chain" appears only in a routing example, not in the description or tasks.
    with_examples = FastRouter(SPECS, cache_dir=False)
    without = FastRouter([s.model_copy(update={"routing_examples": ()}) for s in SPECS], cache_dir=False)
    text = "chain slipping on the cog"
    assert with_examples.predict(text).probs["bikes"] > without.predict(text).probs["bikes"]
    assert with_examples.predict(text).best == "bikes"

"""New specialisations: unserved tasks cluster, growing clusters become proposals, scaffolds load."""

from __future__ import annotations

import time
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import load_settings
from app.engine.core.errors import BadInput, NotFound
from app.engine.core.events import Decision, EventBus, TaskStateChanged
from app.engine.core.specs import load_catalogue
from app.engine.improve.proposals import (
    CENTROID_TERMS,
    MAX_CLUSTERS,
    MAX_EXAMPLES,
    Clusterer,
    ProposalConfig,
    Proposals,
    classify,
    ready,
    suggest_name,
)
from app.engine.improve.scaffold import ScaffoldRequest, install, toml_string, write_scaffold
from app.engine.orchestrator import Orchestrator
from app.engine.store import Store, TaskRecord

SPECIALISTS = Path(__file__).resolve().parents[2] / "specialists"
HOUR = 3600.0
T0 = 1_700_000_000.0 - (1_700_000_000.0 % HOUR)  # the start of a window
TRANSLATIONS = [
    "translate 'good morning' into french",
    "translate this sentence to german: where is the station",
    "translation of 'thank you very much' in spanish",
    "translate the menu into italian",
    "please translate 'see you tomorrow' into french",
    "translate my cover letter to german",
    "translate the greeting 'happy birthday' into portuguese",
]
RECIPES = [
    "recipe for a vegan chocolate cake",
    "what can I cook with leeks, potatoes and cream: a recipe",
    "recipe ideas for a quick dinner with chicken",
]


def background() -> list[str]:
    """The catalogue's own texts, as the orchestrator passes them."""
    return [
        t
        for s in load_catalogue(SPECIALISTS).specs.values()
        for t in (s.description, *s.capabilities, *s.example_tasks, *s.routing_examples)
    ]


def _refused(task_id: str, text: str, ts: float) -> dict[str, Any]:
    return {
        "id": task_id,
        "text": text,
        "state": "failed",
        "error_kind": "not_routed",
        "error_message": "The request looks out of scope (none 0.71; best specialist 0.12 numerical).",
        "router": None,
        "route_confidence": None,
        "created_at": ts,
        "finished_at": ts,
    }


def _task(task_id: str, text: str, ts: float) -> TaskRecord:
    """The refused task as the store reads it back."""
    return TaskRecord(updated_at=ts, **_refused(task_id, text, ts))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _proposals(
    store: Store, tmp_path: Path, bus: EventBus | None = None, clock: Clock | None = None, **config: Any
) -> Proposals:
    return Proposals(
        lambda: store,
        bus or EventBus(),
        ProposalConfig(**config),
        data_dir=tmp_path / "data",
        user_dir=tmp_path / "mine",
        taken=lambda: set(load_catalogue(SPECIALISTS).specs),
        background=background,
        clock=clock or Clock(T0 + 10 * HOUR),
    )


def _decisions(bus: EventBus) -> list[Decision]:
    seen: list[Decision] = []
    bus.subscribe(Decision, seen.append)
    return seen


# ----------------------------------------------------------------------------- the pure parts
def test_unserved_means_refused_low_confidence_or_failed_for_the_specialist() -> None:
    base = TaskRecord(
        id="t",
        text="x",
        state="queued",
        created_at=T0,
        updated_at=T0,
        router="fast",
        route_confidence=0.9,
        error_message="",
    )
    assert classify(replace(base, state="failed", error_kind="not_routed", route_confidence=None), 0.3) == "refused"
    assert classify(replace(base, state="succeeded", route_confidence=0.12), 0.3) == "low_confidence"
    assert classify(replace(base, state="failed", error_kind="internal"), 0.3) == "failed"
    assert classify(replace(base, state="succeeded"), 0.3) is None  # served well
    assert classify(replace(base, state="failed", error_kind="bad_input"), 0.3) is None  # the user's file
    assert classify(replace(base, state="failed", error_kind="cancelled"), 0.3) is None
    assert classify(replace(base, state="succeeded", router="explicit", route_confidence=0.0), 0.3) is None
    assert classify(replace(base, state="running"), 0.3) is None
    guard = "The text tries to steer the router instead of describing a task."
    assert classify(replace(base, state="failed", error_kind="not_routed", error_message=guard), 0.3) is None


def test_similar_texts_share_a_cluster_and_unrelated_ones_do_not() -> None:
    clusterer = Clusterer(similarity=0.15, window_s=HOUR)
    clusterer.seed(background())
    got = {text: clusterer.assign(f"t{i}", text, "refused", T0 + i) for i, text in enumerate(TRANSLATIONS + RECIPES)}
    translation_ids = {got[t].id for t in TRANSLATIONS if got[t] is not None}
    recipe_ids = {got[t].id for t in RECIPES if got[t] is not None}
    assert len(translation_ids) == 1 and len(recipe_ids) == 1
    assert translation_ids != recipe_ids
    cluster = clusterer.clusters[translation_ids.pop()]
    assert cluster.size == len(TRANSLATIONS) and cluster.origins == {"refused": len(TRANSLATIONS)}
    assert cluster.top_terms(clusterer.idf)[0] == "translate"
    assert clusterer.assign("short", "hi", "refused", T0) is None  # too little text to cluster on


def test_the_rule_needs_n_tasks_from_two_separate_windows() -> None:
    clusterer = Clusterer(window_s=HOUR)
    clusterer.seed(background())
    for i, text in enumerate(TRANSLATIONS[:5]):  # five tasks, one burst within an hour
        cluster = clusterer.assign(f"t{i}", text, "refused", T0 + 60 * i)
    assert cluster is not None and cluster.size == 5 and cluster.windows == 1 and cluster.growth == 5
    assert not ready(cluster, min_tasks=5, min_windows=2)  # one burst is not a recurring need
    assert ready(cluster, min_tasks=5, min_windows=1)
    later = clusterer.assign("t5", TRANSLATIONS[5], "refused", T0 + 2 * HOUR + 1)
    assert later is cluster and cluster.windows == 2 and cluster.growth == 1
    assert ready(cluster, min_tasks=5, min_windows=2)
    cluster.state = "dismissed"
    assert not ready(cluster, min_tasks=5, min_windows=2)  # only forming clusters are proposed


def test_memory_stays_bounded_however_many_tasks_come() -> None:
    clusterer = Clusterer(similarity=0.9, window_s=HOUR)
    for i in range(MAX_CLUSTERS + 80):  # every text its own cluster
        clusterer.assign(f"u{i}", f"zq{i}alpha zq{i}beta zq{i}gamma", "failed", T0 + i)
    assert len(clusterer.clusters) <= MAX_CLUSTERS
    assert "u0" not in {m for c in clusterer.clusters.values() for m in c.members}  # the stalest went first
    big = Clusterer(similarity=0.01, window_s=HOUR)
    for i in range(300):
        big.assign(f"v{i}", f"translate text number w{i}x w{i}y w{i}z into french", "refused", T0 + i)
    (only,) = big.clusters.values()
    assert only.size == 300 and len(only.examples) == MAX_EXAMPLES and len(only.centroid) <= CENTROID_TERMS
    assert len(only.members) <= 200


def test_suggested_names_are_valid_unique_specialist_ids() -> None:
    assert suggest_name(["translate", "french"], set()) == "translate-french"
    assert suggest_name(["translate", "french"], {"translate-french"}) == "translate-french-2"
    assert suggest_name(["9lives"], set()) == "proposal"
    assert suggest_name([], {"proposal"}) == "proposal-2"


# ----------------------------------------------------------------------------- the scaffold
def test_scaffold_loads_with_the_real_catalogue_loader_and_keeps_odd_text_exact(tmp_path: Path) -> None:
    odd = 'say "hi" \\ to C:\\temp — ünïcode 🎉 tab\there\nnew line \x7f end'
    req = ScaffoldRequest(
        proposal_id="p-0123456789",
        name="translate-french",
        title="Translate French",
        description="Tasks about translate, french that no specialist served well.",
        capabilities=["translate", "french"],
        examples=[odd, "translate 'hi' into french"],
        size=6,
    )
    folder, spec = write_scaffold(req, tmp_path / "p-0123456789")
    assert sorted(p.name for p in folder.iterdir()) == ["Dockerfile", "handler.py", "specialist.toml"]
    catalogue = load_catalogue(folder.parent)  # exactly what the engine does with a specialists folder
    assert catalogue.errors == [] and list(catalogue.specs) == ["translate-french"]
    assert spec.id == "translate-french" and spec.program is not None and spec.planner is None
    assert spec.example_tasks[0] == " ".join(odd.split())  # whitespace folded, everything else kept
    assert tomllib.loads(f"v = {toml_string(odd)}")["v"] == odd
    dockerfile = (folder / "Dockerfile").read_text()
    assert "FROM ${RUNTIME_IMAGE}" in dockerfile and 'io.switchboard.specialist="translate-french"' in dockerfile
    compile((folder / "handler.py").read_text(), "handler.py", "exec")  # valid Python


def test_install_refuses_a_taken_id_or_a_broken_edit(tmp_path: Path) -> None:
    req = ScaffoldRequest(
        proposal_id="p-1",
        name="recipe-cook",
        title="Recipe Cook",
        description="Tasks about recipes and cooking.",
        capabilities=["recipe"],
        examples=["a recipe"],
    )
    folder, _ = write_scaffold(req, tmp_path / "p-1")
    with pytest.raises(BadInput, match="exists already"):
        install(folder, tmp_path / "mine", {"recipe-cook"})
    manifest = folder / "specialist.toml"
    manifest.write_text(manifest.read_text().replace('title = "Recipe Cook"', "title = "))
    with pytest.raises(BadInput, match="TOML"):
        install(folder, tmp_path / "mine", set())
    assert not (tmp_path / "mine" / "recipe-cook").exists()


# ----------------------------------------------------------------------------- the service
def _feed(props: Proposals, texts: list[str], start: float, prefix: str) -> None:
    for i, text in enumerate(texts):
        props.observe(_task(f"{prefix}{i:04d}", text, start + 60 * i))


def test_a_growing_cluster_becomes_a_stored_proposal_with_a_decision(store: Store, tmp_path: Path) -> None:
    bus = EventBus()
    seen = _decisions(bus)
    props = _proposals(store, tmp_path, bus, min_tasks=5, min_windows=2, window_s=HOUR)
    _feed(props, TRANSLATIONS[:4] + RECIPES, T0, "a")
    assert props.views() == [] and seen == []
    _feed(props, TRANSLATIONS[4:6], T0 + 3 * HOUR, "b")  # the same need, back hours later
    (view,) = props.views()
    assert view.state == "open" and view.size == 6 and view.windows == 2 and view.growth == 2
    assert view.name == "translate-french" and view.title == "Translate French"
    assert view.origins == {"refused": 6} and len(view.examples) == 6
    assert view.examples[0] == TRANSLATIONS[5]  # newest first
    assert view.description.startswith("Tasks about translate, french")
    assert (
        "proposed after 5 of them (5 refused as out of scope) over 2 window(s) of 1 h" in view.description
    )  # then it grew
    (made,) = seen
    assert made.kind == "proposal_made" and made.subject == view.id and ">= 5 tasks in >= 2 windows" in made.reason
    assert load_catalogue(Path(view.scaffold_dir).parent).specs.keys() == {"translate-french"}
    props.observe(_task("c0000", TRANSLATIONS[6], T0 + 3 * HOUR + 600))  # it keeps growing
    assert props.get(view.id).size == 7 and props.get(view.id).growth == 3
    props.close()
    again = _proposals(store, tmp_path, min_tasks=5, min_windows=2, window_s=HOUR)  # a restart
    (stored,) = again.views()
    assert stored.id == view.id and stored.size == 7 and stored.examples[0] == TRANSLATIONS[6]
    _feed(again, RECIPES, T0 + 4 * HOUR, "d")  # replayed tasks are not counted twice
    assert again.get(view.id).size == 7
    again.close()


def test_tasks_stored_before_the_first_look_are_replayed_and_all_counted(store: Store, tmp_path: Path) -> None:
    for i, text in enumerate(TRANSLATIONS):  # e.g. a first start after an upgrade: history, no proposal yet
        store.insert_task({**_refused(f"h{i:04d}", text, T0 + i * HOUR / 2), "updated_at": T0}).result(5)
    props = _proposals(store, tmp_path, min_tasks=5, min_windows=2, window_s=HOUR)
    (view,) = props.views()  # proposed during the replay, and the tasks after it still counted
    assert view.size == len(TRANSLATIONS) and view.windows == 4
    props.observe(_task("h0000", TRANSLATIONS[0], T0))  # the same task again: counted once
    assert props.get(view.id).size == len(TRANSLATIONS)
    props.close()


def test_a_dismissed_cluster_is_never_proposed_again_even_after_a_restart(store: Store, tmp_path: Path) -> None:
    bus = EventBus()
    seen = _decisions(bus)
    props = _proposals(store, tmp_path, bus, min_tasks=3, min_windows=1, window_s=HOUR)
    _feed(props, TRANSLATIONS[:3], T0, "a")
    (view,) = props.views()
    dismissed = props.dismiss(view.id, "not now")
    assert dismissed.state == "dismissed" and "not now" in dismissed.reason
    assert [d.kind for d in seen] == ["proposal_made", "proposal_dismissed"]
    _feed(props, TRANSLATIONS[3:], T0 + 5 * HOUR, "b")  # more of the same kind: absorbed, silent
    assert props.views() == [] and len(seen) == 2
    assert props.views(include_dismissed=True)[0].size == len(TRANSLATIONS)
    with pytest.raises(BadInput, match="dismissed already"):
        props.accept(view.id)
    props.close()
    # the tasks are in the store too: a restart replays them, and still proposes nothing
    for i, text in enumerate(TRANSLATIONS):
        store.insert_task({**_refused(f"s{i:04d}", text, T0 + 6 * HOUR + i), "updated_at": T0}).result(5)
    again = _proposals(store, tmp_path, min_tasks=3, min_windows=1, window_s=HOUR)
    assert again.views() == [] and again.views(include_dismissed=True)[0].id == view.id
    with pytest.raises(NotFound):
        again.dismiss("p-nonexistent")
    again.close()


def test_accept_installs_the_scaffold_in_the_user_folder(store: Store, tmp_path: Path) -> None:
    bus = EventBus()
    seen = _decisions(bus)
    props = _proposals(store, tmp_path, bus, min_tasks=3, min_windows=1, window_s=HOUR)
    _feed(props, TRANSLATIONS[:3], T0, "a")
    (view,) = props.views()
    accepted, spec = props.accept(view.id)
    assert accepted.state == "accepted" and accepted.specialist == spec.id == view.name
    assert spec.folder == tmp_path / "mine" / view.name
    assert load_catalogue(tmp_path / "mine").specs.keys() == {view.name}
    assert seen[-1].kind == "proposal_accepted" and seen[-1].data["specialist"] == view.name
    with pytest.raises(BadInput, match="accepted already"):
        props.accept(view.id)
    props.close()


# ----------------------------------------------------------------------------- the orchestrator
def test_the_orchestrator_clusters_finished_tasks_and_loads_user_specialists(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    write_scaffold(
        ScaffoldRequest(
            proposal_id="p-x",
            name="recipe-cook",
            title="Recipe Cook",
            description="Tasks about recipes and cooking.",
            capabilities=["recipe"],
            examples=["a recipe"],
        ),
        mine,
    )
    write_scaffold(
        ScaffoldRequest(
            proposal_id="p-y",
            name="numerical",
            title="Shadow",
            description="Tries to replace a built-in one.",
            capabilities=["x"],
            examples=["x"],
        ),
        mine,
    )
    settings = load_settings(
        data_dir=tmp_path / "data",
        namespace="proposals",
        ollama_autostart=False,
        llama_autostart=False,
        docker_url=f"unix://{tmp_path}/none.sock",
        user_specialists_dir=mine,
        proposal_min_tasks=3,
        proposal_min_windows=1,
    )
    orch = Orchestrator(settings)
    try:
        assert (
            "recipe-cook" in orch.catalogue.specs
            and orch.catalogue.specs["numerical"].folder == SPECIALISTS / "numerical"
        )
        assert any("built-in specialist already" in e for e in orch.manifest_errors())
        orch.start(docker=False, reconcile=False, monitors=False).result(timeout=60)
        store = orch.wait_started()
        now = time.time()
        for i, text in enumerate(TRANSLATIONS[:3]):
            task_id = f"orch{i:04d}"
            store.insert_task({**_refused(task_id, text, now), "updated_at": now}).result(5)
            orch.bus.publish(TaskStateChanged(task_id=task_id, state="failed", error="out of scope"))
        orch.proposer.flush()
        (view,) = orch.proposals()
        assert view.size == 3 and view.state == "open"
        assert orch.dismiss_proposal(view.id).state == "dismissed"
        assert orch.proposals() == []
        with pytest.raises(NotFound):
            orch.accept_proposal("p-missing")
        kinds = [d.kind for d in orch.decisions(50)]
        deadline = time.time() + 10
        while "proposal_dismissed" not in kinds and time.time() < deadline:
            time.sleep(0.1)
            kinds = [d.kind for d in orch.decisions(50)]
        assert "proposal_made" in kinds and "proposal_dismissed" in kinds  # stored like every decision
    finally:
        orch.close()

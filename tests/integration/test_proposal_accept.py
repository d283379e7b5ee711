"""New specialisations on real Docker: refused tasks -> proposal -> accepted -> image built -> a task runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput
from app.engine.core.events import Decision, ImageBuildProgress
from app.engine.core.specs import load_catalogue
from app.engine.orchestrator import Orchestrator

pytestmark = pytest.mark.docker

# The fast router refuses each of these as out of scope (checked: none >= 0.8, no model call).
REFUSED = [
    "translate 'good morning' into french",
    "translate this sentence to german: where is the station",
    "translate the menu into italian",
    "please translate 'see you tomorrow' into french",
    "translate my cover letter to german",
]


def test_refused_tasks_become_a_proposal_that_builds_and_runs(
    engine_settings: Callable[..., Settings], docker_client: Any
) -> None:
    settings = engine_settings(
        proposal_min_tasks=5, proposal_min_windows=1, llama_autostart=False, routing_llm_timeout_s=2.0
    )
    orch = Orchestrator(settings)
    decisions: list[Decision] = []
    progress: list[ImageBuildProgress] = []
    orch.bus.subscribe(Decision, decisions.append)
    orch.bus.subscribe(ImageBuildProgress, progress.append)
    name = ""
    try:
        orch.start().result(timeout=120)
        for text in REFUSED:
            with pytest.raises(BadInput, match="out of scope"):
                orch.submit(text)
        orch.proposer.flush()
        (proposal,) = [p for p in orch.proposals() if p.state == "open"]
        name = proposal.name
        assert proposal.size == len(REFUSED) and proposal.origins == {"refused": len(REFUSED)}
        assert name.startswith("translate") and set(proposal.examples) == set(REFUSED)
        assert any(d.kind == "proposal_made" and d.subject == proposal.id for d in decisions)

        started = time.monotonic()
        accepted = orch.accept_proposal(proposal.id).result(timeout=600)
        built_s = time.monotonic() - started
        assert accepted.state == "accepted" and accepted.specialist == name
        assert (settings.effective_user_specialists_dir / name / "specialist.toml").is_file()
        assert name in orch.catalogue.specs and name in {s.id for s in orch.specialists()}
        assert any(p.specialist == name and p.done and p.error is None for p in progress)
        assert {d.kind for d in decisions} >= {"proposal_made", "proposal_accepted", "specialist_added"}

        view = orch.submit("describe", specialist=name).future.result(timeout=300)
        assert view.state == "succeeded", view.error
        assert view.container and view.container.startswith(f"sb-{name}-")
        assert "is ready" in view.answer and view.data == {"specialist": name, "inputs": 0}
        assert orch.route(REFUSED[0]).chosen == name  # the retrained router sends its kind of task there now
        print(f"accept + image build {built_s:.1f} s")
    finally:
        orch.close(remove_containers=True)
        if name:
            for image in docker_client.images.list(filters={"label": f"io.switchboard.specialist={name}"}):
                docker_client.images.remove(image.id, force=True)
    again = Orchestrator(engine_settings())  # a restart loads the accepted specialist from the user folder
    try:
        assert name in again.catalogue.specs and not again.manifest_errors()
        assert load_catalogue(settings.effective_user_specialists_dir).errors == []
    finally:
        again.close()

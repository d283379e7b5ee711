"""The one facade protocol the CLI, the UI controllers and the GUI tests' fake are typed against.

:class:`~app.engine.orchestrator.Orchestrator` implements it; ``tests/gui/fake_orchestrator.py``
implements it without Docker. mypy checks both (``app/engine/orchestrator.py`` and
``tests/gui/test_facade_conformance.py`` assign an instance to a ``Facade`` variable).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

from app.engine.core.config import Settings
from app.engine.core.events import Decision, EventBus
from app.engine.core.views import (
    ContainerView,
    DoctorCheck,
    ExampleGrowthView,
    ExampleView,
    HealthView,
    NodeView,
    ProposalView,
    RouterRetrainView,
    RouteView,
    ScalingView,
    SeriesPoint,
    SpecialistView,
    TaskHandle,
    TaskView,
    VariantView,
)

__all__ = ["Facade"]


class Facade(Protocol):
    """What callers may do with the engine. Blocking work returns a Future."""

    settings: Settings
    bus: EventBus

    def start(self) -> Future[None]:
        """Connect in the background (store, Docker, monitors)."""
        ...

    def close(self) -> None:
        """Stop every thread the engine started."""
        ...

    def specialists(self) -> list[SpecialistView]:
        """The catalogue with live state and today's figures."""
        ...

    def manifest_errors(self) -> list[str]:
        """Manifests that did not load."""
        ...

    def containers(self) -> list[ContainerView]:
        """Running containers with their latest stats."""
        ...

    def health(self) -> list[HealthView]:
        """Latest status of Docker, the model server and the database."""
        ...

    def doctor(self) -> list[DoctorCheck]:
        """Every dependency check with its fix."""
        ...

    def fix(self, component: str) -> Future[str]:
        """Apply the engine's own fix for a dependency."""
        ...

    def task(self, task_id: str) -> TaskView:
        """A stored task."""
        ...

    def tasks(
        self, limit: int = 200, state: str | None = None, specialist: str | None = None, search: str | None = None
    ) -> list[TaskView]:
        """Recent tasks, newest first."""
        ...

    def route(self, text: str, files: Sequence[Path | str] = ()) -> RouteView:
        """Explain a routing decision without running anything."""
        ...

    def series(self, metric: str, since_ts: float, specialist: str | None = None) -> list[SeriesPoint]:
        """Stored figures for charts."""
        ...

    def artifact_path(self, task_id: str, name: str) -> Path:
        """Where a task's artifact is stored."""
        ...

    def logs(self, container: str, tail: int = 200) -> str:
        """The last lines a container printed."""
        ...

    def follow_logs(self, container: str, stop: threading.Event) -> Iterator[str]:
        """Log lines as they come, until ``stop`` is set."""
        ...

    def inspect(self, container: str) -> dict[str, Any]:
        """Hardening checklist and limits of a container."""
        ...

    def submit(
        self,
        text: str,
        *,
        specialist: str | None = None,
        files: Sequence[Path | str] = (),
        timeout_s: float | None = None,
    ) -> TaskHandle:
        """Store, route and dispatch a task."""
        ...

    def rerun(self, task_id: str, specialist: str) -> TaskHandle:
        """Run a stored task again on another specialist."""
        ...

    def run_program(self, task_id: str, program: str) -> TaskHandle:
        """Run a task again with its program as the user edited it (fresh sandbox, no model)."""
        ...

    def feedback(self, task_id: str, kind: str, specialist: str | None = None, note: str = "") -> None:
        """Store a verdict on a task."""
        ...

    def cancel(self, task_id: str) -> bool:
        """Cancel a queued or running task."""
        ...

    def build(self, specialist: str) -> Future[str]:
        """Build a specialist's image."""
        ...

    def up(self, specialist: str, replicas: int = 1) -> Future[list[ContainerView]]:
        """Run at least ``replicas`` containers."""
        ...

    def scale(self, specialist: str, replicas: int) -> Future[list[ContainerView]]:
        """Run exactly ``replicas`` containers."""
        ...

    def down(self, name_or_specialist: str) -> Future[int]:
        """Remove a container or every container of a specialist."""
        ...

    def scaling(self) -> list[ScalingView]:
        """The lifecycle controller's latest plan per specialist."""
        ...

    def release(self, specialist: str) -> bool:
        """Lift a crash-loop quarantine."""
        ...

    def decisions(self, limit: int = 200) -> list[Decision]:
        """Stored engine decisions, newest first (the GUI's timeline at start)."""
        ...

    def restart(self, container: str) -> Future[ContainerView]:
        """Replace a container by a fresh one."""
        ...

    def variants(self, specialist: str) -> list[VariantView]:
        """A specialist's variants with their live figures (docs/self-improvement.md)."""
        ...

    def retrain(self, specialist: str, replay: bool = False) -> Future[VariantView]:
        """A new candidate variant from the current dataset; ``replay`` also runs the replay gate."""
        ...

    def retrain_router(self) -> Future[RouterRetrainView]:
        """Refit the fast router from stored feedback, measured before/after on a held-back slice."""
        ...

    def router_history(self, limit: int = 200) -> list[RouterRetrainView]:
        """The router's past retrains with their before/after figures, oldest first."""
        ...

    def dataset(self, specialist: str, include_removed: bool = False) -> list[ExampleView]:
        """A specialist's curated examples, newest first."""
        ...

    def nodes(self) -> list[NodeView]:
        """Swarm nodes with this engine's replicas on each (empty on the local Docker backend)."""
        ...

    def example_counts(self, specialist: str) -> dict[str, int]:
        """Examples in the specialist's program bank: ``seed`` and ``feedback``."""
        ...

    def example_growth(self, specialist: str) -> list[ExampleGrowthView]:
        """Program success (live and evaluated) at each size of the specialist's example bank."""
        ...

    def remove_example(self, specialist: str, example_id: str) -> bool:
        """Take an example out of a dataset for good (False when it already was)."""
        ...

    def export_dataset(self, specialist: str) -> str:
        """A specialist's dataset as JSONL text."""
        ...

    def proposals(self) -> list[ProposalView]:
        """Proposed new specialists (open and accepted), newest first (docs/self-improvement.md)."""
        ...

    def accept_proposal(self, proposal_id: str) -> Future[ProposalView]:
        """Install a proposal's scaffold as a specialist and build its image (ImageBuildProgress)."""
        ...

    def dismiss_proposal(self, proposal_id: str) -> ProposalView:
        """Hide a proposal for good: its cluster is never proposed again."""
        ...

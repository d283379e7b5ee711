"""Connects the router, the Ollama service and the planner to the rest of the engine.

Keeps the orchestrator free of routing details: stored feedback trains the fast router at
start, outcomes feed the bandit, every decision is stored with its router and reason.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from app.engine.core.config import Settings
from app.engine.core.errors import EngineError
from app.engine.core.events import Decision, EventBus
from app.engine.core.specs import Catalogue
from app.engine.core.states import TaskState
from app.engine.core.views import DoctorCheck, HealthView, RouteView
from app.engine.llm.llamacpp import LlamaCppService
from app.engine.llm.ollama_service import OllamaService
from app.engine.llm.planner import Planner
from app.engine.routing.combine import PARAMS_BY_BACKEND
from app.engine.routing.router import Router

if TYPE_CHECKING:
    from app.engine.core.views import TaskView
    from app.engine.store import Store

__all__ = ["RoutingService"]

log = logging.getLogger(__name__)


class RoutingService:
    """Router + Ollama + planner, wired to the store and the bus."""

    def __init__(self, settings: Settings, catalogue: Catalogue, bus: EventBus) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.bus = bus
        self.service = OllamaService(settings)
        self.store: Store | None = None
        self._lock = threading.Lock()
        self._router: Router | None = None
        self._router_lock = threading.Lock()
        self._pending_feedback: list[tuple[str, str]] = []
        self._pending_outcomes: list[tuple[str, bool, float, float]] = []

    @property
    def router(self) -> Router:
        """The router, trained on first use.

        Training takes a moment: commands that never route never pay for it, and the GUI
        warms it in the background.
        """
        with self._router_lock:
            if self._router is None:
                llamacpp = self.settings.routing_backend == "llamacpp"
                router = Router(
                    self.catalogue, LlamaCppService(self.settings) if llamacpp else self.service,
                    threshold=self.settings.route_confidence_threshold or None,
                    model=self.settings.planning_model if llamacpp else self.settings.ollama_model,
                    llm_timeout_s=self.settings.routing_llm_timeout_s,
                    combine=PARAMS_BY_BACKEND[self.settings.routing_backend],
                )
                if self._pending_feedback:
                    router.learn_many(self._pending_feedback)
                for sid, success, latency, cost in self._pending_outcomes:
                    router.record_outcome(sid, success=success, latency_ms=latency, cost=cost)
                self._pending_outcomes.clear()
                self._router = router
            return self._router

    def warm(self) -> None:
        """Train the router now (called on the engine's start thread)."""
        _ = self.router

    def attach_store(self, store: Store) -> None:
        """Train the fast router on stored overrides once the store is open."""
        self.store = store

        try:
            examples = store.routing_overrides().result(timeout=30)
        except EngineError as exc:
            log.warning("could not read feedback: %s", exc)
            return
        if examples:
            with self._router_lock:
                if self._router is None:
                    self._pending_feedback = examples
                    return
            self.router.learn_many(examples)

    def retrain(self) -> dict[str, object]:
        """Refit the fast router from all stored feedback now (on demand or on a schedule).

        Bounded and checked (:mod:`app.engine.routing.retrain`): a wrong batch of labels
        cannot make it refuse the catalogue's own examples; the manifests always stay.
        Returns what was kept, and publishes it as a ``Decision(kind="router_retrained")``.
        """
        if self.store is None:
            raise EngineError("the store is not open yet; the router cannot read its feedback")
        examples = self.store.routing_overrides().result(timeout=30)
        with self._lock:
            report = self.router.retrain(examples)
        kept, dropped = report.get("kept"), report.get("dropped")
        why = f"router retrained on {kept} feedback example(s)" + (f", {dropped} dropped ({report['fallback']})" if dropped else "")
        self.bus.publish(Decision(kind="router_retrained", subject="router", reason=why, data=dict(report)))
        return report

    def planner(self, store: Store) -> Planner:
        """The planner, recording schema violations as an accuracy signal."""

        def on_violation(spec_id: str, detail: str) -> None:
            store.add_metric("schema_violations", spec_id, 1.0)
            self.bus.publish(Decision(kind="schema_violation", subject=spec_id, reason=detail[:300]))

        return Planner(self.service, on_violation=on_violation)

    def decide(self, text: str, files: list[str], state: dict[str, dict[str, Any]], task_id: str | None = None) -> RouteView:
        """Route and record the decision."""
        with self._lock:
            decision = self.router.decide(text, files, state)
        view = decision.to_view()
        if self.store is not None:
            self.store.add_routing_decision(
                task_id=task_id, text=text, chosen=view.chosen, router=view.router, confidence=view.confidence,
                scores=view.scores, latency_ms=view.latency_ms, rationale=view.rationale, schema_violation=view.schema_violation,
            )
            if view.schema_violation:
                self.store.add_metric("schema_violations", "router", 1.0)
        self.bus.publish(Decision(kind="route", subject=task_id or "", reason=view.rationale, data={"chosen": view.chosen, "router": view.router}))
        return view

    def on_finished(self, specialist: str, view: TaskView) -> None:
        """Feed a finished task's outcome on ``specialist`` to the bandit."""
        success = view.state == TaskState.SUCCEEDED
        with self._router_lock:
            router = self._router
            if router is None:  # not trained yet: keep the outcome for when it is
                self._pending_outcomes.append((specialist, success, view.duration_ms or 0.0, view.cost))
                del self._pending_outcomes[:-1000]
                return
        router.record_outcome(specialist, success=success, latency_ms=view.duration_ms or 0.0, cost=view.cost)

    def learn_feedback(self, text: str, kind: str, routed_to: str | None, right: str | None) -> None:
        """A user's verdict: overrides move the fast router, verdicts move the bandit."""
        with self._lock:
            if kind == "wrong_specialist" and right:
                self.router.learn(text, right)
            elif kind in ("correct", "bad_answer") and routed_to:
                self.router.record_outcome(routed_to, success=kind == "correct", latency_ms=0.0, cost=0.0)

    def health(self) -> HealthView:
        """Ollama's status for the status bar (never raises, never hangs)."""
        status = self.service.status()
        if not status.up:
            return HealthView("ollama", "down", status.detail, status.fix or "routing uses the embedded router meanwhile")
        if not status.model_present:
            return HealthView("ollama", "degraded", status.detail, status.fix)
        return HealthView("ollama", "ok", status.detail)

    def doctor(self) -> list[DoctorCheck]:
        """Server, model and a test completion."""
        view = self.health()
        checks = [DoctorCheck("ollama server", view.status != "down", view.detail, view.fix)]
        if view.status == "down":
            checks.append(DoctorCheck("ollama model", False, "cannot check: server down", view.fix))
            return checks
        checks.append(DoctorCheck("ollama model", view.status == "ok", view.detail, view.fix))
        start = time.perf_counter()
        try:
            self.service.test_completion()
            checks.append(DoctorCheck("ollama completion", True, f"answered in {(time.perf_counter() - start) * 1000:.0f} ms"))
        except EngineError as exc:
            checks.append(DoctorCheck("ollama completion", False, exc.message, exc.hint or ""))
        return checks

    def close(self) -> None:
        """Stop an Ollama server the engine itself started."""
        try:
            self.service.stop_started_server()
        except EngineError as exc:
            log.warning("stopping Ollama: %s", exc)

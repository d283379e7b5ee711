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
from app.engine.core.views import DoctorCheck, HealthView, RouterRetrainView, RouteView
from app.engine.llm.llamacpp import LlamaCppService
from app.engine.llm.ollama_service import OllamaService
from app.engine.llm.planner import Planner
from app.engine.routing.combine import PARAMS_BY_BACKEND
from app.engine.routing.retrain import RetrainResult, held_back, split_held_back
from app.engine.routing.router import Router

if TYPE_CHECKING:
    from app.engine.core.views import TaskView
    from app.engine.store import Store

__all__ = ["ACCURACY_METRIC", "KEPT_METRIC", "RETRAIN_KIND", "RoutingService"]

log = logging.getLogger(__name__)

RETRAIN_KIND = "router_retrained"
ACCURACY_METRIC = "router_accuracy"
KEPT_METRIC = "router_retrain_kept"


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
        self._retrain_lock = threading.Lock()
        self._retrained_until: float | None = None  # newest feedback the last retrain read
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
                    self.catalogue,
                    LlamaCppService(self.settings) if llamacpp else self.service,
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
        """Train the fast router on stored feedback once the store is open.

        It learns what the engine had learned before it stopped, the held-back slice never:
        the feedback up to the last retrain that was kept, and the corrections
        (``wrong_specialist``, learned live as they come) given after the last retrain.
        Corrections that a rejected refit judged wait for the next retrain, which reads all
        stored feedback again; so a refused refit stays refused after a restart.
        """
        self.store = store
        try:
            rows = store.routing_feedback().result(timeout=30)
            history = store.recent_decisions(200, kinds=(RETRAIN_KIND,)).result(timeout=30)
        except EngineError as exc:
            log.warning("could not read feedback: %s", exc)
            return
        runs = [d.data for d in history if isinstance(d.data.get("kept"), bool) and "feedback_until_ts" in d.data]
        kept_until = next((float(d["feedback_until_ts"]) for d in runs if d["kept"]), None)
        last_until = float(runs[0]["feedback_until_ts"]) if runs else None
        with self._retrain_lock:
            self._retrained_until = last_until
        share = self.settings.router_holdout_share
        examples = [
            (r.text, r.specialist)
            for r in rows
            if not held_back(r.text, share)
            and (
                (kept_until is not None and r.ts <= kept_until)
                or (r.kind == "wrong_specialist" and (last_until is None or r.ts > last_until))
            )
        ]
        if examples:
            with self._router_lock:
                if self._router is None:
                    self._pending_feedback = examples
                    return
            self.router.learn_many(examples)

    def new_feedback(self) -> int:
        """Routing verdicts stored since the last retrain (all of them before the first)."""
        if self.store is None:
            return 0
        with self._retrain_lock:
            since = self._retrained_until
        return self.store.count_routing_feedback(since).result(timeout=30)

    def retrain(self, trigger: str = "demand") -> RouterRetrainView:
        """Refit the fast router from all stored feedback now, measured on the held-back slice.

        Bounded and checked (:mod:`app.engine.routing.retrain`): a wrong batch of labels cannot
        make it refuse the catalogue's own examples, and a refit that is worse on the held-back
        slice (or the catalogue) is thrown away, the previous model kept. Routing goes on with
        the current model while the refit runs. Publishes a ``Decision(kind="router_retrained")``
        with the figures and stores them as the metrics ``router_accuracy`` (subjects
        ``held_back_before/after``, ``catalogue_before/after``) and ``router_retrain_kept``.
        One retrain at a time; a second caller waits and then retrains again.
        """
        store = self.store
        if store is None:
            raise EngineError("the store is not open yet; the router cannot read its feedback")
        with self._retrain_lock:
            rows = store.routing_feedback().result(timeout=30)
            since = self._retrained_until
            new = sum(1 for r in rows if since is None or r.ts > since)
            items: list[tuple[str, list[str], str]] = [(r.text, [], r.specialist) for r in rows]
            fit, held = split_held_back(items, self.settings.router_holdout_share)
            result = self.router.retrain(fit, held)
            until = max((r.ts for r in rows), default=since or 0.0)
            self._retrained_until = until
        view = _retrain_view(result, trigger, new)
        data = {**result.as_data(), "trigger": trigger, "new_feedback": new, "feedback_until_ts": until}
        self.bus.publish(Decision(kind=RETRAIN_KIND, subject="router", reason=view.reason, data=data, ts=view.ts))
        for subject, value in (
            ("held_back_before", result.held_before),
            ("held_back_after", result.held_after),
            ("catalogue_before", result.catalogue_before),
            ("catalogue_after", result.catalogue_after),
        ):
            if value is not None:
                store.add_metric(ACCURACY_METRIC, subject, value, ts=view.ts)
        store.add_metric(KEPT_METRIC, "router", 1.0 if result.kept else 0.0, ts=view.ts)
        return view

    def history(self, limit: int = 200) -> list[RouterRetrainView]:
        """Past retrains, oldest first, from the stored ``router_retrained`` decisions."""
        if self.store is None:
            raise EngineError("the store is not open yet")
        rows = self.store.recent_decisions(limit, kinds=(RETRAIN_KIND,)).result(timeout=30)
        runs = [r for r in rows if isinstance(r.data.get("kept"), bool)]
        return [_retrain_from_decision(r.data, r.reason, r.ts) for r in reversed(runs)]

    def planner(self, store: Store) -> Planner:
        """The planner, recording schema violations as an accuracy signal."""

        def on_violation(spec_id: str, detail: str) -> None:
            store.add_metric("schema_violations", spec_id, 1.0)
            self.bus.publish(Decision(kind="schema_violation", subject=spec_id, reason=detail[:300]))

        return Planner(self.service, on_violation=on_violation)

    def decide(
        self, text: str, files: list[str], state: dict[str, dict[str, Any]], task_id: str | None = None
    ) -> RouteView:
        """Route and record the decision."""
        with self._lock:
            decision = self.router.decide(text, files, state)
        view = decision.to_view()
        if self.store is not None:
            self.store.add_routing_decision(
                task_id=task_id,
                text=text,
                chosen=view.chosen,
                router=view.router,
                confidence=view.confidence,
                scores=view.scores,
                latency_ms=view.latency_ms,
                rationale=view.rationale,
                schema_violation=view.schema_violation,
            )
            if view.schema_violation:
                self.store.add_metric("schema_violations", "router", 1.0)
        self.bus.publish(
            Decision(
                kind="route",
                subject=task_id or "",
                reason=view.rationale,
                data={"chosen": view.chosen, "router": view.router},
            )
        )
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
        """A user's verdict: overrides move the fast router, verdicts move the bandit.

        An override of a held-back text teaches the router nothing: it is what retrains are
        measured on (:func:`~app.engine.routing.retrain.held_back`).
        """
        with self._lock:
            if kind == "wrong_specialist" and right and not held_back(text, self.settings.router_holdout_share):
                self.router.learn(text, right)
            elif kind in ("correct", "bad_answer") and routed_to:
                self.router.record_outcome(routed_to, success=kind == "correct", latency_ms=0.0, cost=0.0)

    def health(self) -> HealthView:
        """Ollama's status for the status bar (never raises, never hangs)."""
        status = self.service.status()
        if not status.up:
            return HealthView(
                "ollama", "down", status.detail, status.fix or "routing uses the embedded router meanwhile"
            )
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
            checks.append(
                DoctorCheck("ollama completion", True, f"answered in {(time.perf_counter() - start) * 1000:.0f} ms")
            )
        except EngineError as exc:
            checks.append(DoctorCheck("ollama completion", False, exc.message, exc.hint or ""))
        return checks

    def close(self) -> None:
        """Stop an Ollama server the engine itself started."""
        try:
            self.service.stop_started_server()
        except EngineError as exc:
            log.warning("stopping Ollama: %s", exc)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _retrain_view(result: RetrainResult, trigger: str, new: int) -> RouterRetrainView:
    """The view of a retrain, with its reason in words and figures."""
    if result.held_back:
        held = f"held-back accuracy {_pct(result.held_before)} -> {_pct(result.held_after)} ({result.held_back} tasks)"
    else:
        held = "no held-back tasks yet"
    catalogue = f"catalogue {result.catalogue_before:.1%} -> {result.catalogue_after:.1%}"
    if result.kept:
        dropped = f", {result.dropped} dropped ({result.fallback})" if result.dropped else ""
        reason = f"router retrained on {result.fitted} examples{dropped}: {held}; {catalogue}"
    else:
        reason = f"router refit rejected, previous model kept: {result.rejected_because}"
    return RouterRetrainView(
        kept=result.kept,
        examples=result.fitted,
        held_back=result.held_back,
        held_before=result.held_before,
        held_after=result.held_after,
        catalogue=result.catalogue,
        catalogue_before=result.catalogue_before,
        catalogue_after=result.catalogue_after,
        reason=reason,
        trigger=trigger,
        new_feedback=new,
        dropped=result.dropped,
        seconds=result.seconds,
        ts=time.time(),
    )


def _retrain_from_decision(data: dict[str, Any], reason: str, ts: float) -> RouterRetrainView:
    """A stored ``router_retrained`` decision as a view (its ``data`` holds every figure)."""

    def share(key: str) -> float | None:
        value = data.get(key)
        return None if value is None else float(value)

    return RouterRetrainView(
        kept=bool(data.get("kept")),
        examples=int(data.get("examples") or 0),
        held_back=int(data.get("held_back") or 0),
        held_before=share("held_before"),
        held_after=share("held_after"),
        catalogue=int(data.get("catalogue") or 0),
        catalogue_before=share("catalogue_before") or 0.0,
        catalogue_after=share("catalogue_after") or 0.0,
        reason=reason,
        trigger=str(data.get("trigger") or "demand"),
        new_feedback=int(data.get("new_feedback") or 0),
        dropped=int(data.get("dropped") or 0),
        seconds=float(data.get("seconds") or 0.0),
        ts=ts,
    )

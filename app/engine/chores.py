"""Background chores of a long-lived engine: warming up, pruning old samples, retraining the router.

Threads: each runs on its own daemon thread started by the orchestrator; all stop with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.engine.core.config import Settings
from app.engine.core.errors import EngineError
from app.engine.core.events import Decision, EventBus
from app.engine.core.views import RouterRetrainView
from app.engine.routing.service import RoutingService
from app.engine.store import Store

__all__ = ["RouterRetrainer", "prune_samples_loop", "warm_up"]

log = logging.getLogger(__name__)


def warm_up(routing: RoutingService, settings: Settings, bus: EventBus, recheck: Callable[[], object]) -> None:
    """Train the router, then start Ollama and its base model when missing.

    Only with ``ollama_autostart``; the engine stops only a server it started itself.
    """
    routing.warm()
    if not settings.ollama_autostart:
        return
    service = routing.service
    try:
        if service.ensure_server():
            bus.publish(
                Decision(
                    kind="start_ollama",
                    subject=settings.ollama_host,
                    reason="no Ollama server answered; started the installed one",
                )
            )
        if service.ensure_base_model():
            bus.publish(
                Decision(
                    kind="create_model",
                    subject=settings.ollama_model,
                    reason="base model was missing; created it from the packaged GGUF",
                )
            )
    except EngineError as exc:
        log.warning("Ollama not available; routing uses the embedded router: %s", exc)
    recheck()


def prune_samples_loop(
    store_of: Callable[[], Store | None], retention_days: float, stop: threading.Event, every_s: float = 3600.0
) -> None:
    """Drop resource samples past their retention, once at start and then every ``every_s``."""
    while True:
        store = store_of()
        if store is not None:
            days = retention_days
            try:
                removed = store.prune_samples(time.time() - days * 86400).result(timeout=300)
                if removed:
                    log.info("pruned %d resource samples older than %.0f days", removed, days)
            except Exception as exc:  # a failed prune must never stop the engine
                log.warning("pruning samples failed: %s", exc)
        if stop.wait(every_s):
            return


class RouterRetrainer:
    """Retrains the fast router on a schedule: when enough new feedback arrived since the last retrain.

    Every ``interval_s`` it counts the routing verdicts stored since the last retrain (one
    small query) and retrains only when there are at least ``min_feedback``, so an idle engine
    costs one count per interval and a busy one at most one refit (a few seconds of CPU) per
    interval. A refit that is worse on the held-back slice keeps the previous model
    (:meth:`RoutingService.retrain`); the next attempt waits for ``min_feedback`` more verdicts.

    Thread: ``switchboard-router-retrain``; :meth:`stop` sets the event the loop waits on and
    joins it (a refit in progress finishes first; it is never cut half-way).
    """

    def __init__(self, routing: RoutingService, interval_s: float, min_feedback: int) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.routing = routing
        self.interval_s = interval_s
        self.min_feedback = max(1, min_feedback)
        self.checks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the loop on its own daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="switchboard-router-retrain", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the loop and wait for it (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    @property
    def running(self) -> bool:
        """Whether the loop's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def check(self) -> RouterRetrainView | None:
        """Retrain when enough new feedback arrived; the retrain's view, or ``None`` when not due."""
        self.checks += 1
        new = self.routing.new_feedback()
        if new < self.min_feedback or self._stop.is_set():
            return None
        log.info("%d new routing verdicts since the last retrain: retraining the router", new)
        return self.routing.retrain(trigger="schedule")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception as exc:  # a failed retrain must never stop the engine or this loop
                log.warning("scheduled router retrain failed: %s", exc)

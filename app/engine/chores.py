"""Background chores of a long-lived engine: warming up and pruning old samples.

Threads: each runs on its own daemon thread started by the orchestrator; both stop with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.engine.core.config import Settings
from app.engine.core.errors import EngineError
from app.engine.core.events import Decision, EventBus
from app.engine.routing.service import RoutingService
from app.engine.store import Store

__all__ = ["prune_samples_loop", "warm_up"]

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
            bus.publish(Decision(kind="start_ollama", subject=settings.ollama_host, reason="no Ollama server answered; started the installed one"))
        if service.ensure_base_model():
            bus.publish(Decision(kind="create_model", subject=settings.ollama_model, reason="base model was missing; created it from the packaged GGUF"))
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

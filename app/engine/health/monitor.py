"""Health of the engine's dependencies: ``doctor`` checks and the status-bar loop.

Threads: :class:`HealthMonitor` runs one thread that probes Docker, Ollama and the database
every few seconds and publishes :class:`~app.engine.core.events.HealthChanged` on that thread when
a status changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.engine.core.events import EventBus, HealthChanged
from app.engine.core.views import HealthView

__all__ = ["HealthMonitor", "Probe"]

log = logging.getLogger(__name__)

Probe = Callable[[], HealthView]


class HealthMonitor:
    """Polls probes and publishes changes; ``snapshot()`` gives the latest views."""

    def __init__(self, bus: EventBus, probes: dict[str, Probe], interval_s: float = 3.0) -> None:
        self.bus = bus
        self.probes = probes
        self.interval_s = interval_s
        self._latest: dict[str, HealthView] = {
            name: HealthView(component=name, status="unknown", detail="not checked yet") for name in probes
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_now(self) -> list[HealthView]:
        """Run every probe once (on this thread) and publish changes."""
        for name, probe in self.probes.items():
            try:
                view = probe()
            except Exception as exc:  # a probe must never kill the loop
                view = HealthView(component=name, status="down", detail=str(exc))
            with self._lock:
                before = self._latest.get(name)
                self._latest[name] = view
            if before is None or (before.status, before.detail) != (view.status, view.detail):
                self.bus.publish(HealthChanged(component=name, status=view.status, detail=view.detail, fix=view.fix))
        return self.snapshot()

    def snapshot(self) -> list[HealthView]:
        """The latest status of every component."""
        with self._lock:
            return list(self._latest.values())

    def start(self) -> None:
        """Start the polling thread (idempotent)."""
        if self._thread is not None:
            return

        def loop() -> None:
            while True:
                self.check_now()
                if self._stop.wait(self.interval_s):
                    return

        self._thread = threading.Thread(target=loop, name="switchboard-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the polling thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

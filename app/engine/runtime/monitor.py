"""One thread that samples every container's resources on an interval.

One poller for the whole fleet, not one blocking ``stats(stream=True)`` per container: those
streams cannot be cancelled, and the cgroup fast path makes a tick over a dozen containers
cost about a millisecond. A failing container (just removed, API hiccup) is logged and
skipped; the thread itself only ends when :meth:`StatsMonitor.stop` is called.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.engine.core.events import ContainerStatsSampled, EventBus
from app.engine.runtime.protocol import ContainerRuntime

__all__ = ["StatsMonitor"]

log = logging.getLogger(__name__)


class StatsMonitor:
    """Sample, publish and hand over container stats every ``interval_s`` seconds.

    Parameters
    ----------
    runtime
        Where samples come from (:meth:`ContainerRuntime.stats`).
    bus
        Receives one :class:`ContainerStatsSampled` per container per tick, published on the
        monitor thread.
    interval_s
        Time between the starts of two ticks.
    names_provider
        Returns ``(container name, specialist id)`` for the containers to sample now.
    on_samples
        Gets each tick's batch (the store persists it); called on the monitor thread.
    """

    def __init__(
        self,
        runtime: ContainerRuntime,
        bus: EventBus,
        interval_s: float,
        names_provider: Callable[[], list[tuple[str, str]]],
        on_samples: Callable[[list[ContainerStatsSampled]], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self._bus = bus
        self._interval_s = interval_s
        self._names_provider = names_provider
        self._on_samples = on_samples
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.ticks = 0

    @property
    def running(self) -> bool:
        """Whether the monitor thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (no-op when already running)."""
        with self._lock:
            if self.running:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="stats-monitor", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to end and wait for it (idempotent)."""
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def sample_once(self) -> list[ContainerStatsSampled]:
        """One tick: sample every container, publish each sample, hand over the batch."""
        try:
            targets = self._names_provider()
        except Exception:
            log.exception("stats monitor: listing containers failed")
            return []
        batch: list[ContainerStatsSampled] = []
        for name, specialist in targets:
            if self._stop.is_set():
                break
            try:
                stats = self._runtime.stats(name)
            except Exception as exc:  # one container's trouble must not stop the others
                log.debug("stats monitor: %s skipped: %s", name, exc)
                continue
            sample = ContainerStatsSampled(
                container=name,
                specialist=specialist,
                cpu_percent=stats.cpu_percent,
                memory_bytes=stats.memory_bytes,
                memory_limit_bytes=stats.memory_limit_bytes,
                pids=stats.pids,
            )
            self._bus.publish(sample)
            batch.append(sample)
        if batch and self._on_samples is not None:
            try:
                self._on_samples(batch)
            except Exception:
                log.exception("stats monitor: on_samples failed")
        return batch

    def _loop(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            self.sample_once()
            self.ticks += 1
            next_tick += self._interval_s
            delay = next_tick - time.monotonic()
            if delay < 0:  # a slow tick (API fallback): do not try to catch up in a burst
                next_tick, delay = time.monotonic(), 0.0
            if self._stop.wait(delay):
                break

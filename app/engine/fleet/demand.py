"""What the autoscaler observes of one specialist: arrivals, concurrency, latency, errors and replicas.

A :class:`DemandWindow` keeps bounded, time-stamped samples and answers window questions
("mean concurrency over the last 60 s", "p95 latency of the last 5 minutes"). It holds no
lock and reads no clock: the controller feeds it ``now`` (monotonic seconds) from its one
thread, so unit tests drive it with a fake clock. Finished tasks arrive from dispatcher
threads through :meth:`DemandBook.finish`, which takes the book's lock.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["DemandBook", "DemandWindow", "percentile"]

MAX_SAMPLES = 4096
HISTORY_S = 900.0  # nothing older than this is ever asked for


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-quantile (0..1) by the nearest-rank rule; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass
class DemandWindow:
    """Bounded samples of one specialist's demand."""

    concurrency: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    arrivals: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    finished: deque[tuple[float, float, bool]] = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    replicas: deque[tuple[float, int, int]] = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    services: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    last_busy: float | None = None  # when concurrency was last above zero

    def sample(self, now: float, value: float) -> None:
        """Record in-flight + waiting tasks at ``now``."""
        self.concurrency.append((now, value))
        if value > 0:
            self.last_busy = now
        self._trim(now)

    def sample_replicas(self, now: float, running: int, paused: int) -> None:
        """Record how many containers ran and how many were paused at ``now`` (what costs money)."""
        self.replicas.append((now, running, paused))
        self._trim(now)

    def arrive(self, now: float, count: int = 1) -> None:
        """Record ``count`` task arrivals at ``now``."""
        for _ in range(count):
            self.arrivals.append(now)
        if count:
            self.last_busy = now

    def finish(self, now: float, latency_s: float, ok: bool, service_s: float | None = None) -> None:
        """Record one finished task (``service_s``: its time inside the replica, when known)."""
        self.finished.append((now, latency_s, ok))
        if service_s is not None:
            self.services.append((now, service_s))

    def service_p50(self, now: float, window_s: float) -> float | None:
        """Median time (s) tasks spent inside a replica within ``window_s`` (waits and starts excluded)."""
        return percentile([s for t, s in self.services if t > now - window_s], 0.5)

    def _trim(self, now: float) -> None:
        while self.concurrency and self.concurrency[0][0] < now - HISTORY_S:
            self.concurrency.popleft()
        while self.arrivals and self.arrivals[0] < now - HISTORY_S:
            self.arrivals.popleft()
        while self.finished and self.finished[0][0] < now - HISTORY_S:
            self.finished.popleft()
        while len(self.replicas) > 1 and self.replicas[1][0] < now - HISTORY_S:
            self.replicas.popleft()  # the last sample before the horizon still says what ran from it

    def mean_concurrency(self, now: float, window_s: float) -> float:
        """Mean of the concurrency samples within ``window_s`` (0 without samples)."""
        values = [v for t, v in self.concurrency if t > now - window_s]
        return sum(values) / len(values) if values else 0.0

    def peak_concurrency(self, now: float, window_s: float) -> float:
        """Largest concurrency sample within ``window_s``."""
        return max((v for t, v in self.concurrency if t > now - window_s), default=0.0)

    def arrival_rate(self, now: float, window_s: float) -> float:
        """Arrivals per second within ``window_s``."""
        return sum(1 for t in self.arrivals if t > now - window_s) / window_s

    def latency_p95(self, now: float, window_s: float) -> float | None:
        """p95 latency (s) of tasks finished within ``window_s``."""
        return percentile([lat for t, lat, _ in self.finished if t > now - window_s], 0.95)

    def error_rate(self, now: float, window_s: float) -> tuple[float, int]:
        """Share of failed tasks within ``window_s`` and how many finished."""
        recent = [ok for t, _, ok in self.finished if t > now - window_s]
        if not recent:
            return 0.0, 0
        return sum(1 for ok in recent if not ok) / len(recent), len(recent)

    def replica_seconds(self, now: float, window_s: float) -> tuple[float, float]:
        """Running and paused container-seconds within ``window_s``.

        Each sample holds until the next, the last until now.
        """
        start = now - window_s
        running = paused = 0.0
        samples = list(self.replicas)
        for i, (t, run, pause) in enumerate(samples):
            end = samples[i + 1][0] if i + 1 < len(samples) else now
            span = min(end, now) - max(t, start)
            if span > 0:
                running += run * span
                paused += pause * span
        return running, paused

    def gap_p90(self, now: float, window_s: float = HISTORY_S, min_gaps: int = 5) -> float | None:
        """p90 of the gaps between arrivals within ``window_s`` (``None`` with too few)."""
        times = [t for t in self.arrivals if t > now - window_s]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        return percentile(gaps, 0.9) if len(gaps) >= min_gaps else None

    def recent_gaps(self, now: float, window_s: float = 120.0) -> list[float]:
        """Gaps between the arrivals within ``window_s``, oldest first."""
        times = [t for t in self.arrivals if t > now - window_s]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    def idle_for(self, now: float) -> float:
        """Seconds since the specialist last had work (infinite if never)."""
        return math.inf if self.last_busy is None else now - self.last_busy


class DemandBook:
    """One :class:`DemandWindow` per specialist, safe to feed from several threads."""

    def __init__(self, specialists: list[str]) -> None:
        self._lock = threading.Lock()
        self._windows = {sid: DemandWindow() for sid in specialists}

    @contextmanager
    def locked(self, specialist: str) -> Iterator[DemandWindow]:
        """The window of a specialist, held under the book's lock while the block runs."""
        with self._lock:
            yield self._windows.setdefault(specialist, DemandWindow())

    def finish(self, specialist: str, now: float, latency_s: float, ok: bool, service_s: float | None = None) -> None:
        """Record a finished task (any thread)."""
        with self._lock:
            self._windows.setdefault(specialist, DemandWindow()).finish(now, latency_s, ok, service_s)

    def arrive(self, specialist: str, now: float, count: int = 1) -> None:
        """Record arrivals (any thread)."""
        with self._lock:
            self._windows.setdefault(specialist, DemandWindow()).arrive(now, count)

    def sample(self, specialist: str, now: float, value: float) -> None:
        """Record a concurrency sample (controller thread)."""
        with self._lock:
            self._windows.setdefault(specialist, DemandWindow()).sample(now, value)

    def sample_replicas(self, specialist: str, now: float, running: int, paused: int) -> None:
        """Record the containers running and paused (controller thread)."""
        with self._lock:
            self._windows.setdefault(specialist, DemandWindow()).sample_replicas(now, running, paused)

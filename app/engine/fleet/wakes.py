"""Timed tier changes of one replica: resume it ahead of an expected task, pause it again when that task is overdue.

A :class:`WakeSchedule` holds what is due when (a heap keyed by clock seconds) and runs the due
entries on one thread of its own, so a wake happens on time whatever the decision tick is
doing. :meth:`WakeSchedule.run_due` takes ``now``, so unit tests drive it with a fake clock
and never start the thread. Each entry carries the replica's ``served`` count when it was
made: a replica that served a task since then has a newer entry of its own, and the old one is
dropped instead of waking (or pausing) it at the wrong time.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["WakeEntry", "WakeSchedule"]

log = logging.getLogger(__name__)

MAX_SLEEP_S = 1.0  # the thread looks at the schedule at least this often


@dataclass(order=True)
class WakeEntry:
    """One timed action on one replica."""

    due: float
    seq: int
    replica: str = field(compare=False)
    action: str = field(compare=False)  # "resume" | "recheck"
    served: int = field(compare=False)  # the replica's tasks served when the entry was made
    reason: str = field(compare=False)


class WakeSchedule:
    """Due entries run through ``act(entry)``; the thread sleeps until the next one is due."""

    def __init__(self, clock: Callable[[], float], act: Callable[[WakeEntry], None]) -> None:
        self._clock = clock
        self._act = act
        self._heap: list[WakeEntry] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def add(self, due: float, replica: str, action: str, served: int, reason: str) -> None:
        """Run ``action`` on ``replica`` at ``due`` (clock seconds)."""
        with self._cond:
            heapq.heappush(self._heap, WakeEntry(due, next(self._seq), replica, action, served, reason))
            self._cond.notify()

    def pending(self) -> list[WakeEntry]:
        """The entries not yet run, soonest first."""
        with self._cond:
            return sorted(self._heap)

    def run_due(self, now: float) -> int:
        """Run every entry due by ``now``; returns how many ran."""
        ran = 0
        while True:
            with self._cond:
                if not self._heap or self._heap[0].due > now:
                    return ran
                entry = heapq.heappop(self._heap)
            try:
                self._act(entry)
            except Exception:  # one failed wake must not stop the others
                log.exception("wake of %s failed", entry.replica)
            ran += 1

    def start(self) -> None:
        """Run due entries on a thread of its own (idempotent)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="switchboard-wakes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; entries not yet due are dropped."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                wait = MAX_SLEEP_S if not self._heap else self._heap[0].due - self._clock()
                if wait > 0:
                    self._cond.wait(min(wait, MAX_SLEEP_S))
                    continue
            self.run_due(self._clock())

"""The wake schedule: entries run in order on its own thread, on time, and stop drops the rest."""

from __future__ import annotations

import threading
import time

from app.engine.fleet.wakes import WakeEntry, WakeSchedule


def test_due_entries_run_in_order_and_later_ones_wait() -> None:
    ran: list[str] = []
    schedule = WakeSchedule(lambda: 0.0, lambda e: ran.append(f"{e.action} {e.replica}"))
    schedule.add(5.0, "b", "recheck", 1, "")
    schedule.add(2.0, "a", "resume", 1, "")
    schedule.add(9.0, "c", "resume", 1, "")
    assert schedule.run_due(6.0) == 2 and ran == ["resume a", "recheck b"]
    assert [e.replica for e in schedule.pending()] == ["c"]


def test_a_failing_entry_does_not_stop_the_others() -> None:
    ran: list[str] = []

    def act(entry: WakeEntry) -> None:
        if entry.replica == "bad":
            raise RuntimeError("boom")
        ran.append(entry.replica)

    schedule = WakeSchedule(lambda: 0.0, act)
    schedule.add(1.0, "bad", "resume", 0, "")
    schedule.add(2.0, "good", "resume", 0, "")
    assert schedule.run_due(3.0) == 2 and ran == ["good"]


def test_the_thread_runs_an_entry_when_it_is_due_and_stop_drops_the_rest() -> None:
    done = threading.Event()
    when: list[float] = []

    def act(entry: WakeEntry) -> None:
        when.append(time.monotonic())
        done.set()

    schedule = WakeSchedule(time.monotonic, act)
    schedule.start()
    try:
        due = time.monotonic() + 0.3
        schedule.add(due, "r", "resume", 0, "")
        schedule.add(time.monotonic() + 60, "later", "resume", 0, "")
        assert done.wait(3.0), "the entry ran"
        assert due <= when[0] < due + 0.2, "on time, not at the next 1 s look"
    finally:
        schedule.stop()
    assert schedule.pending() == [] and len(when) == 1

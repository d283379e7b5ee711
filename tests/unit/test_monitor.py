"""StatsMonitor with a fake runtime: publishes, batches, survives errors, stops promptly."""

from __future__ import annotations

import threading
import time

from app.engine.core.errors import NotFound
from app.engine.core.events import ContainerStatsSampled, EventBus
from app.engine.runtime.monitor import StatsMonitor
from app.engine.runtime.protocol import ContainerStats


class FakeStats:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def stats(self, name: str) -> ContainerStats:
        self.calls.append(name)
        if name == "broken":
            raise NotFound("no such container: broken")
        return ContainerStats(cpu_percent=12.5, memory_bytes=1000, memory_limit_bytes=4000, pids=3)


def test_one_tick_publishes_and_batches_skipping_broken() -> None:
    bus = EventBus()
    seen: list[ContainerStatsSampled] = []
    bus.subscribe(ContainerStatsSampled, seen.append)
    batches: list[list[ContainerStatsSampled]] = []
    runtime = FakeStats()
    monitor = StatsMonitor(
        runtime,  # type: ignore[arg-type]
        bus,
        1.0,
        lambda: [("a", "numerical"), ("broken", "numerical"), ("b", "database")],
        batches.append,
    )
    batch = monitor.sample_once()
    assert [(s.container, s.specialist) for s in batch] == [("a", "numerical"), ("b", "database")]
    assert seen == batch and batches == [batch]
    assert batch[0].cpu_percent == 12.5 and batch[0].memory_limit_bytes == 4000 and batch[0].pids == 3
    assert runtime.calls == ["a", "broken", "b"]


def test_thread_ticks_survives_failures_and_stops() -> None:
    bus = EventBus()
    ticks = threading.Event()
    count = {"n": 0}

    def provider() -> list[tuple[str, str]]:
        count["n"] += 1
        if count["n"] == 1:
            raise RuntimeError("listing failed once")
        if count["n"] >= 4:
            ticks.set()
        return [("a", "x")]

    def bad_sink(batch: list[ContainerStatsSampled]) -> None:
        raise RuntimeError("store down")

    monitor = StatsMonitor(FakeStats(), bus, 0.01, provider, bad_sink)  # type: ignore[arg-type]
    monitor.start()
    monitor.start()  # second start is a no-op
    assert ticks.wait(5)
    assert monitor.running
    started = time.monotonic()
    monitor.stop()
    assert time.monotonic() - started < 1.0
    assert not monitor.running
    assert not any(t.name == "stats-monitor" for t in threading.enumerate())
    monitor.stop()  # idempotent


def test_stop_interrupts_a_long_interval() -> None:
    monitor = StatsMonitor(FakeStats(), EventBus(), 60.0, lambda: [])  # type: ignore[arg-type]
    monitor.start()
    time.sleep(0.05)
    started = time.monotonic()
    monitor.stop()
    assert time.monotonic() - started < 1.0 and monitor.ticks == 1

"""MetricsRegistry fed with synthetic engine events through a real EventBus."""

from __future__ import annotations

import threading

import pytest

from app.engine.core.events import (
    ContainerStateChanged,
    ContainerStatsSampled,
    Decision,
    EventBus,
    HealthChanged,
    TaskStateChanged,
)
from app.engine.metrics.registry import MetricsRegistry, reason_label
from tests.unit.test_metrics_textparse import parse_exposition


@pytest.fixture
def wired() -> tuple[MetricsRegistry, EventBus]:
    registry = MetricsRegistry(version="9.9.9")
    bus = EventBus()
    registry.subscribe(bus)
    return registry, bus


def _task(bus: EventBus, task_id: str, specialist: str, final: str, ms: float | None) -> None:
    for state in ("queued", "routed", "running"):
        bus.publish(TaskStateChanged(task_id=task_id, state=state, specialist=specialist))
    bus.publish(TaskStateChanged(task_id=task_id, state=final, specialist=specialist, duration_ms=ms))


def _stats(bus: EventBus, name: str, specialist: str, mem: int) -> None:
    bus.publish(
        ContainerStatsSampled(
            container=name,
            specialist=specialist,
            cpu_percent=12.5,
            memory_bytes=mem,
            memory_limit_bytes=512 << 20,
            pids=4,
        )
    )


def test_tasks_are_counted_by_specialist_and_final_state_and_timed(wired: tuple[MetricsRegistry, EventBus]) -> None:
    registry, bus = wired
    _task(bus, "t1", "numerical", "succeeded", 40.0)
    _task(bus, "t2", "numerical", "succeeded", 2500.0)
    _task(bus, "t3", "numerical", "failed", 10.0)
    _task(bus, "t4", "database", "cancelled", None)
    parsed = parse_exposition(registry.render())
    assert parsed.value("switchboard_tasks_total", specialist="numerical", state="succeeded") == 2
    assert parsed.value("switchboard_tasks_total", specialist="numerical", state="failed") == 1
    assert parsed.value("switchboard_tasks_total", specialist="database", state="cancelled") == 1
    assert parsed.value("switchboard_task_duration_seconds_count", specialist="numerical") == 3
    assert parsed.value("switchboard_task_duration_seconds_sum", specialist="numerical") == pytest.approx(2.55)
    assert parsed.value("switchboard_task_duration_seconds_bucket", specialist="numerical", le="0.05") == 2
    assert not parsed.matching("switchboard_task_duration_seconds_count", specialist="database")  # no duration given
    assert parsed.value("switchboard_tasks_in_flight", specialist="numerical") == 0
    ((labels, value),) = parsed.matching("switchboard_build_info").items()
    assert dict(labels)["version"] == "9.9.9" and value == 1


def test_in_flight_follows_running_and_final_states(wired: tuple[MetricsRegistry, EventBus]) -> None:
    registry, bus = wired
    bus.publish(TaskStateChanged(task_id="a", state="running", specialist="numerical"))
    bus.publish(TaskStateChanged(task_id="b", state="running", specialist="numerical"))
    bus.publish(TaskStateChanged(task_id="b", state="running", specialist="numerical"))  # a retry: same task
    bus.publish(TaskStateChanged(task_id="c", state="queued", specialist="numerical"))
    assert registry.tasks_in_flight.value(("numerical",)) == 2
    bus.publish(TaskStateChanged(task_id="a", state="succeeded", specialist="numerical", duration_ms=5))
    assert registry.tasks_in_flight.value(("numerical",)) == 1
    bus.publish(TaskStateChanged(task_id="c", state="failed", error="not routed"))  # never ran, no specialist
    assert registry.tasks_in_flight.value(("numerical",)) == 1
    assert registry.tasks.value(("unknown", "failed")) == 1


def test_container_gauges_appear_with_samples_and_go_with_the_container(
    wired: tuple[MetricsRegistry, EventBus],
) -> None:
    registry, bus = wired
    name, other = "sb-numerical-0a1b2c3d", "sb-numerical-99887766"
    for n in (name, other):
        bus.publish(
            ContainerStateChanged(
                container=n, specialist="numerical", state="starting", reason="no free slot: start on demand"
            )
        )
        bus.publish(
            ContainerStateChanged(
                container=n, specialist="numerical", state="running", reason="no free slot: start on demand"
            )
        )
        _stats(bus, n, "numerical", 30 << 20)
    parsed = parse_exposition(registry.render())
    assert parsed.value("switchboard_container_memory_bytes", container=name, specialist="numerical") == 30 << 20
    assert parsed.value("switchboard_container_cpu_percent", container=name, specialist="numerical") == 12.5
    assert parsed.value("switchboard_container_pids", container=name, specialist="numerical") == 4
    assert parsed.value("switchboard_containers_running", specialist="numerical") == 2
    assert parsed.value("switchboard_container_starts_total", specialist="numerical", reason="no free slot") == 2

    bus.publish(ContainerStateChanged(container=name, specialist="numerical", state="removed", reason="idle > 900 s"))
    _stats(bus, name, "numerical", 31 << 20)  # a late sample must not bring it back
    parsed = parse_exposition(registry.render())
    assert not parsed.matching("switchboard_container_memory_bytes", container=name)
    assert not parsed.matching("switchboard_container_pids", container=name)
    assert parsed.matching("switchboard_container_memory_bytes", container=other)
    assert parsed.value("switchboard_containers_running", specialist="numerical") == 1
    assert parsed.value("switchboard_container_removals_total", specialist="numerical", reason="idle > N s") == 1


def test_failed_start_counts_and_does_not_leave_a_running_container(wired: tuple[MetricsRegistry, EventBus]) -> None:
    registry, bus = wired
    bus.publish(
        ContainerStateChanged(
            container="sb-ml-00000001", specialist="machine-learning", state="starting", reason="requested"
        )
    )
    bus.publish(
        ContainerStateChanged(
            container="sb-ml-00000001", specialist="machine-learning", state="failed", reason="start failed"
        )
    )
    assert registry.containers_running.value(("machine-learning",)) == 0
    assert registry.container_start_failures.value(("machine-learning",)) == 1
    assert registry.container_starts.value(("machine-learning", "requested")) == 0


def test_routing_schema_violations_decisions_and_health(wired: tuple[MetricsRegistry, EventBus]) -> None:
    registry, bus = wired
    for router, chosen in (("fast", "numerical"), ("fast", "numerical"), ("llm", "database"), ("fast", "clarify")):
        bus.publish(Decision(kind="route", subject="t", reason="why", data={"chosen": chosen, "router": router}))
    bus.publish(Decision(kind="schema_violation", subject="data-analytics", reason="missing 'op'"))
    bus.publish(Decision(kind="reap_idle", subject="sb-x-12345678", reason="idle"))
    bus.publish(HealthChanged(component="docker", status="ok"))
    bus.publish(HealthChanged(component="ollama", status="ok"))
    bus.publish(HealthChanged(component="ollama", status="down", detail="refused"))
    bus.publish(HealthChanged(component="database", status="degraded"))
    parsed = parse_exposition(registry.render())
    assert parsed.value("switchboard_routing_decisions_total", router="fast", chosen="numerical") == 2
    assert parsed.value("switchboard_routing_decisions_total", router="llm", chosen="database") == 1
    assert parsed.value("switchboard_routing_decisions_total", router="fast", chosen="clarify") == 1
    assert parsed.value("switchboard_schema_violations_total", specialist="data-analytics") == 1
    assert parsed.value("switchboard_decisions_total", kind="route") == 4
    assert parsed.value("switchboard_decisions_total", kind="reap_idle") == 1
    assert parsed.value("switchboard_dependency_up", component="docker") == 1
    assert parsed.value("switchboard_dependency_up", component="ollama") == 0
    assert parsed.value("switchboard_dependency_up", component="database") == 0


def test_collectors_run_at_scrape_and_a_broken_one_does_not_break_the_scrape(
    wired: tuple[MetricsRegistry, EventBus],
) -> None:
    registry, _ = wired
    pending = [7]
    registry.add_collector(lambda: registry.queue_pending.set((), pending[0]))

    def broken() -> None:
        raise RuntimeError("boom")

    registry.add_collector(broken)
    assert parse_exposition(registry.render()).value("switchboard_queue_pending") == 7
    pending[0] = 2
    assert parse_exposition(registry.render()).value("switchboard_queue_pending") == 2


def test_detach_stops_counting(wired: tuple[MetricsRegistry, EventBus]) -> None:
    registry, bus = wired
    _task(bus, "t1", "numerical", "succeeded", 1.0)
    registry.detach()
    _task(bus, "t2", "numerical", "succeeded", 1.0)
    assert registry.tasks.value(("numerical", "succeeded")) == 1


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("restart of sb-numerical-1a2b3c4d", "restart of <container>"),
        ("scale to 3", "scale to N"),
        ("container sb-db-deadbeef died: exit code 137 (OOM)", "container <container> died"),
        ("", "unknown"),
    ],
)
def test_reasons_become_low_cardinality_labels(reason: str, label: str) -> None:
    assert reason_label(reason) == label


def test_eight_threads_publishing_at_once_lose_nothing(wired: tuple[MetricsRegistry, EventBus]) -> None:
    registry, bus = wired
    per_thread, threads = 500, 8
    start = threading.Barrier(threads + 1)
    stop = threading.Event()
    scrapes: list[str] = []

    def worker(index: int) -> None:
        start.wait()
        for i in range(per_thread):
            task_id = f"{index}-{i}"
            specialist = ("numerical", "database")[i % 2]
            bus.publish(TaskStateChanged(task_id=task_id, state="running", specialist=specialist))
            name = f"sb-numerical-{index:04x}{i:04x}"
            bus.publish(
                ContainerStateChanged(container=name, specialist="numerical", state="running", reason="scale to 2")
            )
            _stats(bus, name, "numerical", 1000 + i)
            bus.publish(
                ContainerStateChanged(container=name, specialist="numerical", state="removed", reason="scale to 1")
            )
            bus.publish(
                Decision(kind="route", subject=task_id, reason="r", data={"chosen": specialist, "router": "fast"})
            )
            bus.publish(
                TaskStateChanged(task_id=task_id, state="succeeded", specialist=specialist, duration_ms=float(i % 50))
            )

    def scraper() -> None:
        start.wait()
        while not stop.is_set():
            scrapes.append(registry.render())

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    reader = threading.Thread(target=scraper)
    for t in [*pool, reader]:
        t.start()
    for t in pool:
        t.join(timeout=60)
    stop.set()
    reader.join(timeout=60)
    total = per_thread * threads
    parsed = parse_exposition(registry.render())
    assert sum(parsed.matching("switchboard_tasks_total").values()) == total
    assert parsed.value("switchboard_task_duration_seconds_count", specialist="numerical") == total / 2
    assert parsed.value("switchboard_task_duration_seconds_bucket", specialist="database", le="+Inf") == total / 2
    assert sum(parsed.matching("switchboard_routing_decisions_total").values()) == total
    assert parsed.value("switchboard_tasks_in_flight", specialist="numerical") == 0
    assert parsed.value("switchboard_tasks_in_flight", specialist="database") == 0
    assert parsed.value("switchboard_containers_running", specialist="numerical") == 0
    assert parsed.value("switchboard_container_starts_total", specialist="numerical", reason="scale to N") == total
    assert not parsed.matching("switchboard_container_memory_bytes"), "every removed container's gauges are gone"
    assert registry.running_tasks() == 0
    assert scrapes, "the scraper ran while events arrived"
    for text in scrapes[:: max(1, len(scrapes) // 20)]:
        parse_exposition(text)  # every concurrent scrape is well formed

"""Metrics of a real engine on real Docker, scraped over 127.0.0.1 like Prometheus would."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable

import pytest

from app.engine.core.config import Settings
from app.engine.metrics import MetricsServer, engine_registry
from app.engine.metrics.exposition import CONTENT_TYPE
from app.engine.orchestrator import Orchestrator
from tests.unit.test_metrics_textparse import Exposition, parse_exposition

pytestmark = pytest.mark.docker


def _scrape(url: str) -> Exposition:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"] == CONTENT_TYPE
        return parse_exposition(response.read().decode("utf-8"))


def _eventually(url: str, check: Callable[[Exposition], bool], timeout_s: float) -> Exposition:
    deadline = time.monotonic() + timeout_s
    while True:
        parsed = _scrape(url)
        if check(parsed) or time.monotonic() > deadline:
            return parsed
        time.sleep(0.25)


def test_three_real_tasks_show_up_in_a_scrape(orch: Orchestrator) -> None:
    server = MetricsServer(engine_registry(orch.metrics_sources()), port=0).start()
    try:
        views = [orch.submit("2+2", specialist="numerical").future.result(timeout=300) for _ in range(3)]
        assert [v.state for v in views] == ["succeeded"] * 3, [v.error for v in views]
        assert all("4" in v.answer for v in views)

        def has_memory(p: Exposition) -> bool:
            return any(v > 0 for v in p.matching("switchboard_container_memory_bytes", specialist="numerical").values())

        parsed = _eventually(server.url, has_memory, timeout_s=5.0)
        assert parsed.value("switchboard_tasks_total", specialist="numerical", state="succeeded") == 3
        assert sum(parsed.matching("switchboard_tasks_total").values()) == 3
        assert parsed.value("switchboard_task_duration_seconds_count", specialist="numerical") == 3
        assert parsed.value("switchboard_task_duration_seconds_bucket", specialist="numerical", le="+Inf") == 3
        total_s = parsed.value("switchboard_task_duration_seconds_sum", specialist="numerical")
        assert 0 < total_s < 900
        memory = parsed.matching("switchboard_container_memory_bytes", specialist="numerical")
        assert has_memory(parsed), f"no positive memory gauge within 5 s: {memory}"
        names = {dict(labels)["container"] for labels in memory}
        live = {r.name for r in orch.lifecycle.replicas("numerical")}
        assert names <= live and names, (names, live)
        assert parsed.value("switchboard_containers_running", specialist="numerical") == len(live)
        assert parsed.value("switchboard_tasks_in_flight", specialist="numerical") == 0
        assert parsed.value("switchboard_queue_pending") == 0
        limit = parsed.value(
            "switchboard_container_memory_limit_bytes", container=next(iter(names)), specialist="numerical"
        )
        assert limit == orch.spec("numerical").limits.memory_mb * 1024 * 1024

        removed = orch.down("numerical").result(timeout=120)
        assert removed == len(live)
        parsed = _scrape(server.url)
        assert not parsed.matching("switchboard_container_memory_bytes", specialist="numerical"), (
            "gone containers leave no gauges"
        )
        assert parsed.value("switchboard_containers_running", specialist="numerical") == 0
        assert sum(parsed.matching("switchboard_container_removals_total", specialist="numerical").values()) == len(
            live
        )
    finally:
        server.stop()


def test_metrics_port_setting_serves_on_loopback(engine_settings: Callable[..., Settings]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = Orchestrator(engine_settings(metrics_port=port))
    try:
        engine.start().result(timeout=120)  # a long-lived engine serves metrics by itself
        url = engine.metrics_url
        assert url == f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
            assert response.read() == b"ok\n"
        parsed = _eventually(url, lambda p: bool(p.matching("switchboard_dependency_up", component="docker")), 30.0)
        assert parsed.value("switchboard_dependency_up", component="docker") == 1
        assert parsed.matching("switchboard_build_info")
    finally:
        engine.close(remove_containers=True)
    with socket.socket() as probe:  # the port is free again after close (TIME_WAIT allowed)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))

"""MetricsServer on 127.0.0.1 and attach_metrics with a stand-in orchestrator."""

from __future__ import annotations

import gzip
import socket
import urllib.error
import urllib.request

import pytest

from app.engine.core.errors import BadInput, EngineError
from app.engine.core.events import EventBus, TaskStateChanged
from app.engine.core.views import HealthView
from app.engine.metrics import MetricsRegistry, MetricsServer, MetricsSources, attach_metrics
from app.engine.metrics.exposition import CONTENT_TYPE
from app.engine.metrics.server import is_loopback
from tests.unit.test_metrics_textparse import parse_exposition


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "8.8.8.8", "no-such-host.invalid"])
def test_non_loopback_hosts_are_refused_unless_allowed(host: str) -> None:
    with pytest.raises(BadInput, match="not a loopback"):
        MetricsServer(MetricsRegistry(), host=host, port=0)


def test_loopback_names_and_addresses_are_accepted() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.3.4.5") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1")
    MetricsServer(MetricsRegistry(), host="0.0.0.0", port=0, allow_remote=True)  # explicit opt-in is allowed
    with pytest.raises(BadInput):
        MetricsServer(MetricsRegistry(), port=70000)


def test_serves_metrics_and_healthz_on_a_free_port_and_stops_cleanly() -> None:
    registry = MetricsRegistry()
    bus = EventBus()
    registry.subscribe(bus)
    bus.publish(TaskStateChanged(task_id="t", state="succeeded", specialist="numerical", duration_ms=12.0))
    server = MetricsServer(registry, port=0).start()
    port = server.port
    try:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        status, headers, body = _get(server.url + "/metrics")
        assert status == 200 and headers["Content-Type"] == CONTENT_TYPE
        assert (
            parse_exposition(body.decode()).value("switchboard_tasks_total", specialist="numerical", state="succeeded")
            == 1
        )
        status, _, body = _get(server.url + "/healthz")
        assert (status, body) == (200, b"ok\n")
        status, _, _ = _get(server.url + "/nope")
        assert status == 404
        status, headers, body = _get(server.url + "/metrics", {"Accept-Encoding": "gzip"})
        assert headers.get("Content-Encoding") == "gzip"
        assert "switchboard_task_duration_seconds_count" in gzip.decompress(body).decode()
        thread = server._thread
        assert thread is not None and thread.is_alive()
    finally:
        server.stop()
    assert not thread.is_alive(), "stop() joins the serving thread"
    server.stop()  # idempotent
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the listening socket is closed


def test_port_in_use_is_an_engine_error_with_a_hint() -> None:
    with MetricsServer(MetricsRegistry(), port=0) as first:
        second = MetricsServer(MetricsRegistry(), port=first.port)
        with pytest.raises(EngineError, match="SWITCHBOARD_METRICS_PORT"):
            second.start()


def _sources() -> MetricsSources:
    return MetricsSources(
        bus=EventBus(),
        replicas=lambda: [("sb-numerical-11112222", "numerical")],
        health=lambda: [HealthView(component="docker", status="ok"), HealthView(component="ollama", status="unknown")],
        pending=lambda: 3,
        writer_counts=lambda: (5, 42),
    )


def test_attach_metrics_is_off_at_port_zero_and_serves_engine_figures_otherwise() -> None:
    assert attach_metrics(0, _sources()) is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sources = _sources()
    server = attach_metrics(port, sources)
    assert server is not None
    try:
        assert server.url == f"http://127.0.0.1:{port}"
        sources.bus.publish(TaskStateChanged(task_id="t", state="failed", specialist="numerical", duration_ms=3.0))
        parsed = parse_exposition(_get(server.url + "/metrics")[2].decode())
        assert parsed.value("switchboard_queue_pending") == 3
        assert parsed.value("switchboard_store_writes_total") == 42
        assert parsed.value("switchboard_store_write_batches_total") == 5
        assert parsed.value("switchboard_containers_running", specialist="numerical") == 1
        assert parsed.value("switchboard_dependency_up", component="docker") == 1
        assert not parsed.matching("switchboard_dependency_up", component="ollama")  # unknown is not reported
        assert parsed.value("switchboard_tasks_total", specialist="numerical", state="failed") == 1
        assert attach_metrics(port, _sources()) is None, "a busy port turns metrics off instead of failing the engine"
    finally:
        server.stop()

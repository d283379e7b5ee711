"""DockerRuntime against the real engine: hardening, listing, stats, logs, events, refusals."""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput, BuildFailed, DockerUnavailable, NotFound
from app.engine.runtime.docker_runtime import DockerRuntime
from app.engine.runtime.protocol import BuildRequest, LaunchSpec, Mount, RuntimeEvent

pytestmark = pytest.mark.docker

BASE = Settings().base_image
SLEEPER = "import time\nn = 0\nwhile True:\n    n += 1\n    print(f'tick-{n}', flush=True)\n    time.sleep(0.2)\n"


@pytest.fixture
def runtime(docker_client: Any, cleanup_labels: dict[str, str]) -> Iterator[DockerRuntime]:
    """A runtime on the default engine; test objects are removed by ``cleanup_labels``."""
    rt = DockerRuntime(Settings())
    yield rt
    rt.close()


def _labels(cleanup_labels: dict[str, str]) -> dict[str, str]:
    return {**cleanup_labels, "io.switchboard.specialist": "rt-test", "io.switchboard.instance": uuid.uuid4().hex[:8]}


def _sleeper(labels: dict[str, str], **changes: Any) -> LaunchSpec:
    fields: dict[str, Any] = {
        "name": f"sb-rt-test-{uuid.uuid4().hex[:8]}",
        "image": BASE,
        "labels": labels,
        "memory_mb": 128,
        "cpus": 0.5,
        "pids": 32,
        "tmpfs_mb": 16,
        "command": ("python3", "-c", SLEEPER),
    }
    fields.update(changes)
    return LaunchSpec(**fields)


def _wait(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_hardened_container_passes_checklist_and_is_listed(
    runtime: DockerRuntime, cleanup_labels: dict[str, str]
) -> None:
    labels = _labels(cleanup_labels)
    info = runtime.run(_sleeper(labels))
    assert info.status == "running" and info.specialist == "rt-test"
    checks = runtime.hardening(info.name)
    assert [c.item for c in checks if not c.passed] == []
    assert len(checks) == 13
    listed = runtime.list({"io.switchboard.instance": labels["io.switchboard.instance"]})
    assert [c.name for c in listed] == [info.name]
    assert runtime.list({"io.switchboard.instance": "nobody"}) == []
    assert runtime.get(info.name).id == info.id


def test_stats_logs_and_follow(runtime: DockerRuntime, cleanup_labels: dict[str, str]) -> None:
    info = runtime.run(_sleeper(_labels(cleanup_labels)))
    stats = runtime.stats(info.name)
    assert stats.memory_bytes > 0
    assert stats.memory_limit_bytes == 128 * 2**20
    assert stats.pids >= 1
    assert _wait(lambda: "tick-2" in runtime.logs(info.name, tail=50))
    assert runtime.logs(info.name, tail=1).count("tick-") == 1

    stop = threading.Event()
    lines: list[str] = []

    def follow() -> None:
        for line in runtime.follow_logs(info.name, stop):
            lines.append(line)

    thread = threading.Thread(target=follow)
    thread.start()
    assert _wait(lambda: len(lines) >= 2)
    stop.set()
    thread.join(3)
    assert not thread.is_alive()
    assert all(line.startswith("tick-") for line in lines)


def test_kill_emits_die_event_and_remove(runtime: DockerRuntime, cleanup_labels: dict[str, str]) -> None:
    stop = threading.Event()
    events: list[RuntimeEvent] = []
    thread = threading.Thread(target=lambda: events.extend(runtime.events(stop)))
    thread.start()
    time.sleep(0.3)  # let the events stream open before anything happens
    info = runtime.run(_sleeper(_labels(cleanup_labels)))
    runtime.kill(info.name)
    assert _wait(lambda: any(e.action == "die" and e.container == info.name for e in events))
    die = next(e for e in events if e.action == "die" and e.container == info.name)
    assert die.exit_code == 137 and die.specialist == "rt-test" and die.ts > 0
    assert runtime.get(info.name).status == "exited"
    runtime.kill(info.name)  # not running any more: no error
    runtime.stop(info.name)
    runtime.remove(info.name)
    with pytest.raises(NotFound):
        runtime.get(info.name)
    runtime.remove(info.name)  # absent: no error
    stop.set()
    thread.join(3)
    assert not thread.is_alive()


@pytest.mark.parametrize(
    "changes",
    [
        {"network": "switchboard-rt-test-net", "publish": {8080: ("0.0.0.0", 8080)}},
        {"mounts": (Mount("/var/run/docker.sock", "/var/run/docker.sock"),)},
        {"mounts": (Mount("/run", "/hostrun", read_only=True),)},
        {"network": "host"},
        {"user": "0:0"},
    ],
)
def test_unsafe_specs_are_refused_before_anything_runs(
    runtime: DockerRuntime, cleanup_labels: dict[str, str], changes: dict[str, Any]
) -> None:
    spec = _sleeper(_labels(cleanup_labels), **changes)
    with pytest.raises(BadInput):
        runtime.run(spec)
    with pytest.raises(NotFound):
        runtime.get(spec.name)


def test_user_network_port_on_loopback_and_volume(
    runtime: DockerRuntime, cleanup_labels: dict[str, str], tmp_path: Path
) -> None:
    net = f"switchboard-rt-test-{uuid.uuid4().hex[:6]}"
    vol = f"switchboard-rt-test-{uuid.uuid4().hex[:6]}"
    runtime.ensure_network(net, internal=False, labels=cleanup_labels)
    runtime.ensure_network(net, internal=False, labels=cleanup_labels)  # idempotent
    runtime.ensure_volume(vol, labels=cleanup_labels)
    runtime.ensure_volume(vol, labels=cleanup_labels)
    (tmp_path / "index.txt").write_text("hello from the host\n")
    tmp_path.chmod(0o755)  # the container's uid 10001 must be able to list the folder
    (tmp_path / "index.txt").chmod(0o644)
    spec = _sleeper(
        _labels(cleanup_labels),
        network=net,
        publish={8080: 0},
        mounts=(Mount(str(tmp_path), "/srv", read_only=True), Mount(vol, "/data", volume=True)),
        command=("python3", "-m", "http.server", "8080", "--directory", "/srv"),
    )
    info = runtime.run(spec)
    assert [c.item for c in runtime.hardening(info.name) if not c.passed] == []
    port = runtime.published_port(info.name, 8080)
    assert port is not None

    def answers() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/index.txt")
            body = conn.getresponse().read()
            conn.close()
            return body == b"hello from the host\n"
        except OSError:
            return False

    assert _wait(answers)
    runtime.remove(info.name)
    runtime.remove_network(net)
    runtime.remove_volume(vol)
    runtime.remove_network(net)
    runtime.remove_volume(vol)


def test_broken_dockerfile_raises_build_failed_with_tail(runtime: DockerRuntime, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {BASE}\nRUN echo marker-before-failure-7731 && echo second-line-7731 && exit 3\n"
    )
    tag = f"switchboard-rt-test/broken:{uuid.uuid4().hex[:8]}"
    lines: list[str] = []
    with pytest.raises(BuildFailed) as info:
        runtime.build_image(BuildRequest(tag=tag, context=tmp_path), lines.append)
    assert "marker-before-failure-7731" in info.value.log_tail
    assert "returned a non-zero code: 3" in str(info.value)
    assert any(line.startswith("Step 1/2") for line in lines)
    assert not runtime.image_exists(tag)


def test_unreachable_engine_is_docker_unavailable_with_fix(tmp_path: Path) -> None:
    rt = DockerRuntime(Settings(docker_url=f"unix://{tmp_path}/missing.sock", docker_timeout_s=2))
    with pytest.raises(DockerUnavailable) as info:
        rt.ping()
    assert "sudo dockerd" in str(info.value) and "make setup" in str(info.value)

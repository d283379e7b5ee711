"""The whole chain on real Docker: store -> dispatch -> hardened container -> stored result."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput, Busy, NotFound
from app.engine.core.events import TaskStateChanged
from app.engine.orchestrator import Orchestrator

pytestmark = pytest.mark.docker

SLOW_CODE = "```python\nimport time\ntime.sleep(4)\nprint('slept')\n```"


def test_explicit_task_runs_and_is_stored(orch: Orchestrator) -> None:
    states: list[str] = []
    orch.bus.subscribe(TaskStateChanged, lambda e: states.append(e.state))
    handle = orch.submit("integrate x^2 from 0 to 3", specialist="numerical")
    view = handle.future.result(timeout=600)
    assert view.state == "succeeded", view.error
    assert abs(float(view.data["value"]) - 9.0) < 1e-9
    assert states == ["queued", "routed", "running", "succeeded"]
    stored = orch.task(handle.id)
    assert stored.state == "succeeded" and stored.specialist == "numerical"
    assert stored.container and stored.container.startswith("sb-numerical-")
    assert stored.answer == view.answer and stored.started_at and stored.finished_at
    # the container is hardened
    doc = orch.inspect(stored.container)
    assert all(item["passed"] for item in doc["hardening"]), doc["hardening"]


def test_input_file_is_mounted_read_only_and_collected(orch: Orchestrator, tmp_path: Path) -> None:
    data = tmp_path / "values.csv"
    data.write_text("x\n1\n2\n3\n4\n", encoding="utf-8")
    code = (
        "```python\nimport os, glob\npath = glob.glob('/input/*/values.csv')[0]\n"
        "vals = [int(v) for v in open(path).read().split()[1:]]\nprint(sum(vals))\n"
        "try:\n    open(path, 'a').write('x')\n    print('writable')\nexcept OSError:\n    print('read-only')\n"
        "open('result.txt', 'w').write(str(sum(vals)))\n```"
    )
    view = orch.submit(code, specialist="code-execution", files=[data]).future.result(timeout=600)
    assert view.state == "succeeded", view.error
    assert "10" in view.stdout and "read-only" in view.stdout
    names = {a.name for a in view.artifacts}
    assert any(n.endswith("result.txt") for n in names), names
    art = next(a for a in view.artifacts if a.name.endswith("result.txt"))
    assert Path(art.path).read_text() == "10"


def _kill_when_running(
    orch: Orchestrator, times: int, specialist: str = "code-execution", delay_s: float = 1.0
) -> list[str]:
    """Kill the ``specialist`` container ``delay_s`` after each of the first ``times`` attempts starts."""
    killed: list[str] = []

    def on_state(event: TaskStateChanged) -> None:
        if event.state == "running" and event.container and event.specialist == specialist and len(killed) < times:
            killed.append(event.container)

            def later(name: str = event.container) -> None:
                time.sleep(delay_s)
                orch.runtime.kill(name)

            threading.Thread(target=later, daemon=True).start()

    orch.bus.subscribe(TaskStateChanged, on_state)
    return killed


def test_container_killed_mid_task_is_retried_once(orch: Orchestrator) -> None:
    killed = _kill_when_running(orch, times=1)
    view = orch.submit(SLOW_CODE, specialist="code-execution").future.result(timeout=600)
    assert len(killed) == 1
    assert view.state == "succeeded", view.error
    assert view.attempt == 2
    assert view.container != killed[0]
    assert "slept" in view.stdout


def test_container_killed_twice_fails_with_reason(orch: Orchestrator) -> None:
    killed = _kill_when_running(orch, times=2)
    view = orch.submit(SLOW_CODE, specialist="code-execution").future.result(timeout=600)
    assert len(killed) == 2
    assert view.state == "failed"
    assert view.error_kind == "container_died"
    assert "died" in (view.error or "")


def test_bad_requests_are_refused_before_anything_runs(orch: Orchestrator, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="unknown specialist 'nope'"):
        orch.submit("2+2", specialist="nope")
    with pytest.raises(BadInput, match="empty"):
        orch.submit("   ", specialist="numerical")
    with pytest.raises(BadInput, match="does not exist"):
        orch.submit("2+2", specialist="numerical", files=[tmp_path / "missing.csv"])
    odd = tmp_path / "notes.docx"
    odd.write_bytes(b"PK\x03\x04")
    with pytest.raises(BadInput, match="does not accept 'notes.docx'"):
        orch.submit("sum it", specialist="numerical", files=[odd])
    assert orch.tasks(limit=10) == []


def test_full_queue_says_busy_and_keeps_what_it_accepted(engine_settings: Callable[..., Settings]) -> None:
    engine = Orchestrator(engine_settings(queue_size=1))
    engine.start().result(timeout=120)
    try:
        first = engine.submit(SLOW_CODE, specialist="code-execution")
        with pytest.raises(Busy, match="busy"):
            engine.submit("2+2", specialist="numerical")
        assert first.future.result(timeout=600).state == "succeeded"
        assert [t.id for t in engine.tasks()] == [first.id]
    finally:
        engine.close(remove_containers=True)


def test_restart_reattaches_containers_and_requeues_lost_tasks(engine_settings: Callable[..., Settings]) -> None:
    first = Orchestrator(engine_settings())
    first.start().result(timeout=120)
    names = [c.name for c in first.up("numerical").result(timeout=600)]
    assert len(names) == 1
    store = first.wait_started()
    # a task the previous engine left "running" when it was killed
    lost_id = uuid.uuid4().hex
    now = time.time()
    store.insert_task(
        {
            "id": lost_id,
            "created_at": now,
            "updated_at": now,
            "state": "running",
            "text": "2**10",
            "specialist": "numerical",
            "attempt": 1,
        }
    ).result()
    first.close()  # containers keep running, like a crash would leave them

    second = Orchestrator(engine_settings())
    second.start().result(timeout=120)
    try:
        assert [c.name for c in second.containers()] == names
        deadline = time.time() + 120
        view = second.task(lost_id)
        while view.state not in ("succeeded", "failed") and time.time() < deadline:
            time.sleep(0.2)
            view = second.task(lost_id)
        assert view.state == "succeeded", view.error
        assert "1024" in view.answer
        assert view.attempt == 2
    finally:
        second.close(remove_containers=True)


def test_orphans_of_this_namespace_are_removed(engine_settings: Callable[..., Settings], docker_client: Any) -> None:
    first = Orchestrator(engine_settings())
    first.start().result(timeout=120)
    name = first.up("numerical").result(timeout=600)[0].name
    first.close()
    docker_client.containers.get(name).stop(timeout=1)  # now an exited leftover
    second = Orchestrator(engine_settings())
    second.start().result(timeout=120)
    try:
        assert second.containers() == []
        assert not docker_client.containers.list(all=True, filters={"name": name})
    finally:
        second.close(remove_containers=True)


def test_engine_process_killed_mid_task_loses_nothing(
    engine_settings: Callable[..., Settings], docker_client: Any
) -> None:
    """kill -9 a real `switchboard submit --wait` while its task runs; the next engine finishes it."""
    import os
    import signal
    import subprocess
    import sys

    settings = engine_settings()
    env = {
        **os.environ,
        "SWITCHBOARD_DATA_DIR": str(settings.data_dir),
        "SWITCHBOARD_NAMESPACE": settings.namespace,
        "SWITCHBOARD_OLLAMA_AUTOSTART": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "submit", SLOW_CODE, "--specialist", "code-execution", "--wait"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    label = f"io.switchboard.namespace={settings.namespace}"
    deadline = time.time() + 300
    while time.time() < deadline and not docker_client.containers.list(filters={"label": label}):
        time.sleep(0.2)
    time.sleep(1.0)  # the task is running inside the container now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    engine = Orchestrator(engine_settings())
    engine.start().result(timeout=120)
    try:
        tasks = engine.tasks()
        assert len(tasks) == 1
        deadline = time.time() + 120
        view = engine.task(tasks[0].id)
        while view.state not in ("succeeded", "failed") and time.time() < deadline:
            time.sleep(0.2)
            view = engine.task(view.id)
        assert view.state == "succeeded", view.error
        assert view.attempt == 2 and "slept" in view.stdout
    finally:
        engine.close(remove_containers=True)


def test_task_that_blows_the_memory_limit_fails_clearly_and_is_not_retried(orch: Orchestrator) -> None:
    view = orch.submit("select length(hex(zeroblob(300000000)))", specialist="database").future.result(timeout=300)
    assert view.state == "failed"
    assert view.error_kind == "limit" and "ran out of memory" in (view.error or "")
    assert view.attempt == 1
    # the specialist is usable again right away (a fresh container on demand)
    again = orch.submit("select 6 * 7", specialist="database").future.result(timeout=300)
    assert again.state == "succeeded", again.error
    assert "42" in again.answer or again.tables


def test_cancel_stops_a_running_sandboxed_task_at_once(orch: Orchestrator) -> None:
    running = threading.Event()
    orch.bus.subscribe(TaskStateChanged, lambda e: running.set() if e.state == "running" else None)
    code = "```python\nimport time\ntime.sleep(60)\nprint('finished')\n```"
    handle = orch.submit(code, specialist="code-execution")
    assert running.wait(120)
    time.sleep(0.5)
    started = time.monotonic()
    assert orch.cancel(handle.id) is True
    view = handle.future.result(timeout=60)
    assert view.state == "cancelled"
    assert time.monotonic() - started < 15  # not the 60 s the code wanted
    assert orch.task(handle.id).state == "cancelled"
    assert orch.cancel(handle.id) is False  # nothing left to cancel


def test_outputs_live_in_a_capped_tmpfs_not_on_the_host_disk(orch: Orchestrator) -> None:
    """Hostile code writing gigabytes to /output hits the tmpfs cap; the host disk is untouched."""
    code = (
        "```python\nwritten = 0\ntry:\n    for i in range(100):\n"
        "        with open(f'/output/junk{i}.bin', 'wb') as f:\n"
        "            for _ in range(30):\n                f.write(b'x' * (1024 * 1024))\n"
        "        written += 30\nexcept OSError as exc:\n    print('stopped:', exc.strerror)\nprint('MB', written)\n```"
    )
    view = orch.submit(code, specialist="code-execution").future.result(timeout=300)
    assert view.state == "succeeded", view.error
    assert "No space left on device" in view.stdout
    cap = orch.spec("code-execution").limits.output_mb
    megabytes = int(view.stdout.split("MB")[-1].strip())
    assert megabytes <= cap
    used = sum(p.stat().st_size for p in orch.settings.data_dir.rglob("*") if p.is_file())
    assert used < 50 * 1024 * 1024  # nothing of it reached the engine's data dir

"""Lifecycle over a fake runtime: scale, slots, idle reaping, budgets, failed starts, reattach."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.core.errors import Busy, EngineError, NotFound
from app.engine.core.events import ContainerStateChanged
from app.engine.core.states import ContainerState
from app.engine.fleet.exchange import Exchange
from app.engine.fleet.transport import SocketClient
from app.engine.runtime.protocol import (
    LABEL_MANAGED,
    LABEL_NAMESPACE,
    LABEL_ROLE,
    LABEL_SPECIALIST,
    LaunchSpec,
)
from tests.unit.fake_runtime import Rig, make_rig, make_spec


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """``echo``: up to three containers of two slots, idle after 10 s, one kept."""
    with make_rig(tmp_path, [make_spec(max_replicas=3, min_replicas=1, idle_ttl_s=10.0)]) as r:
        yield r


def _pong(path: Path) -> dict[str, object]:
    client = SocketClient(path, max_idle=1)
    try:
        return client.call({"v": 1, "kind": "ping"}, timeout_s=2)
    finally:
        client.close()


def _states(r: Rig, name: str) -> list[str]:
    return [e.state for e in r.recorder.events if isinstance(e, ContainerStateChanged) and e.container == name]


def test_scale_up_starts_answering_containers_and_scale_down_removes_them(rig: Rig) -> None:
    replicas = rig.lifecycle.scale("echo", 2)
    assert sorted(r.name for r in replicas) == sorted(rig.runtime.started) and len(replicas) == 2
    for replica in replicas:
        assert _pong(replica.exchange.socket)["ok"] is True
        assert replica.slots == 2 and replica.inflight == 0
        assert _states(rig, replica.name) == [ContainerState.STARTING, ContainerState.RUNNING]
    assert rig.runtime.volumes == {"switchboard-data-echo"}
    assert [d.kind for d in rig.recorder.decisions()] == ["scale_up"]
    assert rig.lifecycle.scale("echo", 0) == []
    assert sorted(rig.runtime.removed) == sorted(rig.runtime.started)
    for replica in replicas:
        assert not replica.exchange.root.exists()
        assert _states(rig, replica.name)[-1] == ContainerState.REMOVED
    assert rig.recorder.decisions("scale_down")[0].data == {"replicas": 0}


def test_scale_refuses_counts_outside_the_manifest(rig: Rig) -> None:
    with pytest.raises(EngineError, match="0..3 replicas, not 4"):
        rig.lifecycle.scale("echo", 4)
    with pytest.raises(NotFound):
        rig.lifecycle.scale("ghost", 1)
    assert rig.runtime.started == []


def test_scale_down_removes_idle_containers_before_busy_ones(rig: Rig) -> None:
    rig.lifecycle.scale("echo", 3)
    busy = rig.lifecycle.acquire("echo", timeout_s=1)
    assert [r.name for r in rig.lifecycle.scale("echo", 1)] == [busy.name]
    rig.lifecycle.release(busy)


def test_launch_spec_mounts_the_exchange_and_has_no_network(rig: Rig) -> None:
    spec = rig.specs["echo"]
    exchange = Exchange(rig.lifecycle.exchange_root / "c")
    launch = rig.lifecycle.launch_spec(spec, "img", "c", exchange)
    assert {(m.target, m.source, m.read_only) for m in launch.mounts} == {
        ("/run/switchboard", str(exchange.sock_dir), False),
        ("/input", str(exchange.in_dir), True),
        ("/data", "switchboard-data-echo", False),
    }
    assert launch.network is None and launch.memory_mb == spec.limits.memory_mb
    assert launch.labels[LABEL_ROLE] == "specialist" and launch.labels[LABEL_NAMESPACE] == "default"
    sandbox = rig.lifecycle.launch_spec(spec, "img", "c", exchange, sandbox=True)
    assert "/data" not in {m.target for m in sandbox.mounts}


def test_acquire_hands_out_free_slots_and_waits_then_refuses(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(concurrency=1, max_replicas=1)]) as r:
        first = r.lifecycle.acquire("echo", timeout_s=1)
        started = time.monotonic()
        with pytest.raises(Busy, match="no free echo container within 0.2 s"):
            r.lifecycle.acquire("echo", timeout_s=0.2)
        assert time.monotonic() - started >= 0.2
        releaser = threading.Timer(0.1, r.lifecycle.release, args=(first,))
        releaser.start()
        try:
            again = r.lifecycle.acquire("echo", timeout_s=3)
        finally:
            releaser.join()
        assert again is first and first.inflight == 1 and first.served == 1
        assert len(r.runtime.started) == 1
        r.lifecycle.release(again)


def test_reaper_pass_removes_idle_containers_but_keeps_min_replicas(rig: Rig) -> None:
    rig.lifecycle.scale("echo", 3)
    now = time.monotonic()
    assert rig.lifecycle.reap_idle(now=now + 5) == [], "idle for less than the TTL"
    reaped = rig.lifecycle.reap_idle(now=now + 100)
    assert len(reaped) == 2 and set(reaped) <= set(rig.runtime.started)
    assert sorted(rig.runtime.removed) == sorted(reaped)
    assert len(rig.lifecycle.replicas("echo")) == 1
    assert [d.reason for d in rig.recorder.decisions("reap_idle")] == ["idle for more than 10 s"] * 2
    assert rig.lifecycle.reap_idle(now=now + 1000) == [], "min_replicas=1 stays"


def test_reaper_never_removes_a_container_with_a_task_in_flight(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(idle_ttl_s=10.0)]) as r:
        r.lifecycle.scale("echo", 2)
        busy = r.lifecycle.acquire("echo", timeout_s=1)
        (idle,) = (x.name for x in r.lifecycle.replicas("echo") if x is not busy)
        busy.last_used -= 1000
        assert r.lifecycle.reap_idle(now=time.monotonic() + 100) == [idle]
        assert [x.name for x in r.lifecycle.replicas("echo")] == [busy.name]
        r.lifecycle.release(busy)


def test_reaper_thread_reaps_and_stops_on_close(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(idle_ttl_s=0.05)]) as r:
        r.lifecycle.scale("echo", 1)
        r.lifecycle.start_reaper(interval_s=0.02)
        deadline = time.monotonic() + 5
        while r.lifecycle.replicas("echo") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert r.lifecycle.replicas("echo") == []
        assert r.runtime.removed == r.runtime.started
        r.lifecycle.close()
        assert not any(t.name == "switchboard-reaper" and t.is_alive() for t in threading.enumerate())


def test_container_budget_evicts_an_idle_replica_of_another_specialist_and_refuses_when_all_busy(
    tmp_path: Path,
) -> None:
    with make_rig(tmp_path, [make_spec("alpha"), make_spec("beta")], budget_max_containers=2) as r:
        r.lifecycle.scale("alpha", 2)
        held = [r.lifecycle.acquire("alpha", timeout_s=1) for _ in range(3)]  # both alpha replicas busy
        with pytest.raises(Busy, match=r"container budget reached \(2/2 running\)"):
            r.lifecycle.start("beta")
        with pytest.raises(Busy):
            r.lifecycle.acquire("beta", timeout_s=1)
        assert len(r.runtime.started) == 2
        assert r.recorder.decisions("refuse_budget"), "a refusal is a decision with its reason"
        for replica in held:
            r.lifecycle.release(replica)
        assert r.lifecycle.start("beta").specialist == "beta", "an idle replica makes room"
        evicted = r.recorder.decisions("evict")
        assert [d.subject for d in evicted] == r.runtime.removed and len(r.runtime.removed) == 1
        assert "make room for beta" in evicted[0].reason
        assert len(r.lifecycle.replicas("alpha")) == 1


def test_memory_budget_refuses_a_start(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(memory_mb=256, max_replicas=3)], budget_max_memory_mb=600) as r:
        r.lifecycle.scale("echo", 2)
        with pytest.raises(Busy, match=r"memory budget reached \(512 MB of 600 MB in use, echo needs 256 MB\)"):
            r.lifecycle.start("echo")
        assert len(r.runtime.started) == 2


def test_concurrent_starts_cannot_exceed_the_container_budget(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec("alpha"), make_spec("beta")], budget_max_containers=1) as r:
        second_run = threading.Event()
        calls: list[str] = []

        def slow_first_run(spec: LaunchSpec) -> None:
            calls.append(spec.name)
            if len(calls) == 1:
                second_run.wait(1.0)  # a fixed engine refuses the second start meanwhile
            else:
                second_run.set()

        r.runtime.on_run = slow_first_run
        outcomes: list[object] = []

        def start(sid: str) -> None:
            try:
                outcomes.append(r.lifecycle.start(sid))
            except Busy as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=start, args=(sid,)) for sid in ("alpha", "beta")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(r.runtime.started) == 1
        assert sum(isinstance(o, Busy) for o in outcomes) == 1


def test_a_container_that_never_answers_is_removed_and_reported(rig: Rig) -> None:
    rig.runtime.start_fails = True
    started = time.monotonic()
    with pytest.raises(EngineError, match="did not become ready") as info:
        rig.lifecycle.start("echo")
    assert time.monotonic() - started < 5, "a container that exited must be noticed early"
    (name,) = rig.runtime.started
    assert "fake logs of " + name in str(info.value)
    assert rig.runtime.removed == [name]
    assert not (rig.lifecycle.exchange_root / name).exists()
    assert _states(rig, name) == [ContainerState.STARTING, ContainerState.FAILED]
    assert rig.lifecycle.replicas() == []
    rig.runtime.start_fails = False
    assert rig.lifecycle.start("echo").name != name


def test_reattach_adopts_live_containers_and_removes_other_leftovers(tmp_path: Path) -> None:
    echo, fresh, gone = make_spec("echo", max_replicas=3), make_spec("fresh", fresh_per_task=True), make_spec("gone")
    with make_rig(tmp_path, [echo, fresh, gone]) as r:
        alive, dead, mute = (r.lifecycle.start("echo").name for _ in range(3))
        fresh_name = r.lifecycle.start("fresh").name
        gone_name = r.lifecycle.start("gone").name
        alive_exchange = Exchange(r.lifecycle.exchange_root / alive)
        alive_exchange.prepare_task("left-behind")
        r.runtime.containers[dead].die()
        r.runtime.containers[mute].die()
        r.runtime.containers[mute].status = "running"  # runs, but its socket no longer answers
        foreign = LaunchSpec(
            name="other-ns",
            image="x",
            labels={
                LABEL_MANAGED: "true",
                LABEL_SPECIALIST: "echo",
                LABEL_NAMESPACE: "other",
                LABEL_ROLE: "specialist",
            },
        )
        r.runtime.run(foreign)
        r.lifecycle.close()  # the old engine goes away; its containers keep running

        second = r.new_lifecycle({"echo": echo, "fresh": fresh})
        adopted, removed = second.reattach()
        assert adopted == [alive]
        assert sorted(removed) == sorted([dead, mute, fresh_name, gone_name])
        assert set(r.runtime.containers) == {alive, "other-ns"}, "another namespace is never touched"
        assert not alive_exchange.task_in("left-behind").exists(), "stale inputs are swept"
        assert [d.subject for d in r.recorder.decisions("reattach")] == [alive]

        launched = len(r.runtime.started)
        replica = second.acquire("echo", timeout_s=1)
        assert replica.name == alive and len(r.runtime.started) == launched, "no new container needed"
        answer = replica.client.call({"v": 1, "kind": "ping"}, timeout_s=2)
        assert answer["ok"] is True
        second.release(replica)

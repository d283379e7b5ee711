"""Dispatcher over a fake runtime: queue bound, concurrency, timeout, one retry, cancel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.core.errors import Busy, EngineError
from app.engine.core.states import TaskState
from app.engine.tasks import dispatch
from app.engine.tasks.dispatch import MAX_ATTEMPTS, InputRecord
from tests.unit.fake_runtime import Rig, make_rig, make_spec

WAIT = 10.0  # seconds a future may take before the test fails


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """Two workers and two slots on one container of ``echo`` (max two containers)."""
    with make_rig(tmp_path) as r:
        yield r


@pytest.fixture
def single(tmp_path: Path) -> Iterator[Rig]:
    """One container with one slot: tasks of ``echo`` run one at a time."""
    with make_rig(tmp_path, [make_spec(concurrency=1, max_replicas=1)]) as r:
        yield r


def test_task_succeeds_and_is_stored(rig: Rig) -> None:
    job = rig.job("hello")
    view = rig.dispatcher.submit(job).result(WAIT)
    assert (view.state, view.answer, view.attempt) == (TaskState.SUCCEEDED, "echo: hello", 1)
    assert view.container == rig.runtime.started[0]
    row = rig.stored(job.task_id)
    assert (row.state, row.answer, row.container, row.attempt) == ("succeeded", "echo: hello", view.container, 1)
    assert rig.recorder.task_states(job.task_id) == ["running", "succeeded"]
    assert [d.subject for d in rig.recorder.decisions("start_on_demand")] == ["echo"]
    assert rig.dispatcher.pending == 0


def test_inputs_are_staged_for_the_container_and_cleared_after(rig: Rig) -> None:
    first, second = rig.blobs.put_bytes(b"alpha"), rig.blobs.put_bytes(b"beta")
    inputs = [InputRecord("a.txt", first.sha256, first.bytes), InputRecord("b.txt", second.sha256, second.bytes)]
    job = rig.job("cat", inputs=inputs)
    view = rig.dispatcher.submit(job).result(WAIT)
    assert (view.state, view.answer) == (TaskState.SUCCEEDED, "alpha+beta")
    request = rig.runtime.all_requests()[0]
    assert [i["path"] for i in request["inputs"]] == [f"/input/{job.task_id}/a.txt", f"/input/{job.task_id}/b.txt"]
    replica = rig.lifecycle.replicas("echo")[0]
    assert not replica.exchange.task_in(job.task_id).exists()


def test_a_specialist_error_fails_the_task_with_its_kind(rig: Rig) -> None:
    view = rig.dispatcher.submit(rig.job("fail")).result(WAIT)
    assert (view.state, view.error_kind, view.error) == (TaskState.FAILED, "bad_input", "row 3 is wrong")
    assert len(rig.lifecycle.replicas("echo")) == 1, "a task error must not cost the container"


def test_full_queue_raises_busy_and_drops_nothing(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(concurrency=1, max_replicas=1)], queue_size=2) as r:
        held = [r.dispatcher.submit(r.job("wait")) for _ in range(2)]
        refused = r.job("refused")
        with pytest.raises(Busy, match="queue size 2"):
            r.dispatcher.submit(refused)
        assert r.dispatcher.pending == 2
        r.runtime.gate.set()
        assert [f.result(WAIT).state for f in held] == [TaskState.SUCCEEDED] * 2
        assert r.dispatcher.pending == 0
        assert r.stored(refused.task_id).state == "routed"
        assert refused.task_id not in {q["id"] for q in r.runtime.all_requests()}
        assert r.dispatcher.submit(r.job("after")).result(WAIT).answer == "echo: after"


def test_concurrency_is_capped_per_container(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(concurrency=2, max_replicas=1)]) as r:
        futures = [r.dispatcher.submit(r.job("wait")) for _ in range(5)]
        r.runtime.wait_active("echo", 2)
        time.sleep(0.2)  # room for a third task to (wrongly) start
        assert r.runtime.active("echo") == 2
        r.runtime.gate.set()
        assert all(f.result(WAIT).state == TaskState.SUCCEEDED for f in futures)
        assert r.runtime.peak["echo"] == 2
        assert len(r.runtime.started) == 1


def test_busy_containers_make_the_dispatcher_start_more_up_to_max_replicas(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(concurrency=1, max_replicas=3)]) as r:
        futures = [r.dispatcher.submit(r.job("wait")) for _ in range(4)]
        r.runtime.wait_active("echo", 3)
        time.sleep(0.2)
        assert len(r.runtime.started) == 3
        assert r.runtime.active("echo") == 3
        r.runtime.gate.set()
        views = [f.result(WAIT) for f in futures]
        assert {v.state for v in views} == {TaskState.SUCCEEDED}
        assert {v.container for v in views} == set(r.runtime.started)
        assert all(r.runtime.peak[name] == 1 for name in r.runtime.started)
        assert len(r.recorder.decisions("start_on_demand")) == 3


def test_a_saturated_specialist_does_not_starve_another(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec("slow", concurrency=1, max_replicas=1), make_spec("quick")]) as r:
        stuck = [r.dispatcher.submit(r.job("wait", specialist="slow")) for _ in range(3)]
        r.runtime.wait_active("slow", 1)
        view = r.dispatcher.submit(r.job("hi", specialist="quick")).result(WAIT)
        assert view.answer == "echo: hi"
        assert not any(f.done() for f in stuck)
        r.runtime.gate.set()
        assert all(f.result(WAIT).state == TaskState.SUCCEEDED for f in stuck)


def test_a_task_past_its_timeout_fails_and_its_container_is_reclaimed(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch, "TIMEOUT_GRACE_S", 0.1)
    started = time.monotonic()
    view = rig.dispatcher.submit(rig.job("hang", timeout_s=0.3)).result(WAIT)
    assert time.monotonic() - started < 3
    assert (view.state, view.error_kind) == (TaskState.FAILED, "timeout")
    assert "0.3 s time limit" in (view.error or "")
    name = rig.runtime.started[0]
    assert rig.runtime.removed == [name]
    assert rig.lifecycle.replicas("echo") == []
    assert [d.reason for d in rig.recorder.decisions("container_died")] == ["stuck past the task timeout"]


def test_a_container_dying_mid_task_is_retried_once_on_a_new_one(rig: Rig) -> None:
    job = rig.job("die-once")
    view = rig.dispatcher.submit(job).result(WAIT)
    assert (view.state, view.answer, view.attempt) == (TaskState.SUCCEEDED, "echo: die-once", 2)
    first, second = rig.runtime.started
    assert view.container == second
    assert rig.runtime.removed == [first]
    assert rig.runtime.attempts_of(job.task_id) == 2
    (retry,) = rig.recorder.decisions("retry")
    assert retry.subject == job.task_id and retry.data == {"attempt": 1}
    assert first in retry.reason and "container stopped" in retry.reason
    assert rig.stored(job.task_id).attempt == 2


def test_a_task_whose_container_dies_twice_fails(rig: Rig) -> None:
    job = rig.job("die")
    view = rig.dispatcher.submit(job).result(WAIT)
    assert (view.state, view.error_kind, view.attempt) == (TaskState.FAILED, "container_died", MAX_ATTEMPTS)
    assert f"{MAX_ATTEMPTS} times" in (view.error or "")
    assert rig.runtime.attempts_of(job.task_id) == MAX_ATTEMPTS
    assert sorted(rig.runtime.removed) == sorted(rig.runtime.started) and len(rig.runtime.started) == 2
    assert rig.stored(job.task_id).error_kind == "container_died"


def test_an_out_of_memory_kill_is_not_retried(rig: Rig) -> None:
    job = rig.job("oom")
    view = rig.dispatcher.submit(job).result(WAIT)
    assert (view.state, view.error_kind, view.attempt) == (TaskState.FAILED, "limit", 1)
    assert "ran out of memory" in (view.error or "")
    assert rig.runtime.attempts_of(job.task_id) == 1
    assert rig.recorder.decisions("retry") == []


def test_cancelling_a_queued_task_means_it_never_runs(single: Rig) -> None:
    running = single.dispatcher.submit(single.job("wait"))
    single.runtime.wait_active("echo", 1)
    queued = single.job("never")
    future = single.dispatcher.submit(queued)
    assert single.dispatcher.cancel(queued.task_id)
    single.runtime.gate.set()
    view = future.result(WAIT)
    assert (view.state, view.error) == (TaskState.CANCELLED, "cancelled before it ran")
    assert running.result(WAIT).state == TaskState.SUCCEEDED
    assert queued.task_id not in {q["id"] for q in single.runtime.all_requests()}
    assert single.stored(queued.task_id).state == "cancelled"


def test_cancelling_a_running_task_discards_its_result(single: Rig) -> None:
    job = single.job("wait")
    future = single.dispatcher.submit(job)
    single.runtime.wait_active("echo", 1)
    assert single.dispatcher.cancel(job.task_id)
    single.runtime.gate.set()
    view = future.result(WAIT)
    assert (view.state, view.answer) == (TaskState.CANCELLED, "")
    assert single.stored(job.task_id).state == "cancelled"
    assert len(single.lifecycle.replicas("echo")) == 1, "a shared container outlives a cancelled task"


def test_cancelling_a_task_in_its_own_container_removes_the_container_now(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(fresh_per_task=True)]) as r:
        job = r.job("hang")
        future = r.dispatcher.submit(job)
        r.runtime.wait_active("echo", 1)
        assert r.dispatcher.cancel(job.task_id)
        view = future.result(WAIT)
        assert view.state == TaskState.CANCELLED
        assert r.runtime.removed == r.runtime.started and len(r.runtime.started) == 1
        assert r.runtime.attempts_of(job.task_id) == 1, "a cancelled task must not be retried"
        assert r.recorder.decisions("retry") == []


def test_cancel_of_an_unknown_or_finished_task_is_false(rig: Rig) -> None:
    job = rig.job("x")
    rig.dispatcher.submit(job).result(WAIT)
    assert not rig.dispatcher.cancel(job.task_id)
    assert not rig.dispatcher.cancel("nope")


def test_fresh_per_task_containers_serve_one_task_each(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(fresh_per_task=True)]) as r:
        views = [r.dispatcher.submit(r.job(f"n{i}")).result(WAIT) for i in range(2)]
        assert [v.answer for v in views] == ["echo: n0", "echo: n1"]
        assert len({v.container for v in views}) == 2
        assert r.runtime.removed == r.runtime.started
        assert r.lifecycle.replicas() == []


def test_a_task_that_cannot_get_a_container_fails_as_unavailable(tmp_path: Path) -> None:
    with make_rig(tmp_path, [make_spec(concurrency=1, max_replicas=2)], budget_max_containers=1) as r:
        holder = r.dispatcher.submit(r.job("wait"))
        r.runtime.wait_active("echo", 1)
        view = r.dispatcher.submit(r.job("second")).result(WAIT)
        assert (view.state, view.error_kind) == (TaskState.FAILED, "unavailable")
        assert "container budget reached (1/1 running)" in (view.error or "")
        r.runtime.gate.set()
        assert holder.result(WAIT).state == TaskState.SUCCEEDED
        assert len(r.runtime.started) == 1


def test_a_closed_dispatcher_refuses_new_tasks(rig: Rig) -> None:
    rig.dispatcher.close()
    with pytest.raises(EngineError, match="shutting down"):
        rig.dispatcher.submit(rig.job("late"))
    assert rig.dispatcher.pending == 0

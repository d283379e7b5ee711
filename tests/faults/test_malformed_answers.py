"""A container answering garbage: capped before parsing, an escaped excerpt, the container replaced.

The "container" is an in-process fake speaking the wire protocol (``tests/unit/fake_runtime``)
that sends raw bytes; the store, dispatcher, lifecycle and transport are the real ones.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.tasks.dispatch import answer_cap
from tests.faults.conftest import assert_sound
from tests.faults.malformed import Raw, install
from tests.unit.fake_runtime import FakeContainer, Rig, make_rig, result, scripted

HUGE = 5 * 1024 * 1024  # well past the cap for the default 1 MiB max_output_bytes

BODIES: dict[str, Any] = {
    "truncated JSON": Raw(b'{"v": 1, "kind": "result", "id": "x", "ok": tr\n'),
    "wrong shape (list)": Raw(b"[1, 2, 3]\n"),
    "wrong shape (fields)": lambda req: {"v": 1, "kind": "result", "id": req["id"], "ok": "maybe", "tables": 7},
    "NaN": lambda req: Raw(
        b'{"v": 1, "kind": "result", "id": "%s", "ok": true, "data": {"value": NaN}}\n' % req["id"].encode()
    ),
    "huge body": Raw(b"x" * HUGE),
    "invalid UTF-8": Raw(b'{"v": 1, "answer": "\xff\xfe\xc3\x28"}\n'),
    "HTML": Raw(b"<html><body><script>alert(1)</script>\x1b[31m</body></html>\n"),
    "short read": Raw(b'{"v": 1, "kind": "result", "id": "'),
    "answer for another task": lambda req: result({"id": "someone-elses-task"}, "stolen"),
}


def behaviour_for(body: Any) -> Any:
    def behave(container: FakeContainer, request: dict[str, Any]) -> Any:
        if request.get("text") != "misbehave":
            return scripted(container, request)
        return body(request) if callable(body) else body

    return behave


@pytest.fixture
def rig_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    install(monkeypatch)
    made: list[Any] = []

    def make(behaviour: Any) -> Rig:
        ctx = make_rig(tmp_path, behaviour=behaviour)
        made.append(ctx)
        return ctx.__enter__()

    yield make
    for ctx in made:
        ctx.__exit__(None, None, None)


@pytest.mark.parametrize("case", list(BODIES))
def test_a_malformed_answer_fails_the_task_with_an_escaped_excerpt_and_replaces_the_container(
    rig_for: Any, case: str
) -> None:
    rig: Rig = rig_for(behaviour_for(BODIES[case]))
    job = rig.job("misbehave")
    view = rig.dispatcher.submit(job).result(timeout=20)
    assert view.state == "failed" and view.error_kind == "internal", view
    message = view.error or ""
    assert "specialist" in message and "was replaced" in message, message
    assert message.isprintable(), f"raw control characters reached the message: {message!r}"
    assert len(message) < 600, "the excerpt must be short"
    assert "\ufffd" not in message
    bad = rig.runtime.containers.get(view.container or "")
    assert view.container in rig.runtime.removed and bad is None, "the misbehaving container must be replaced"
    # the next task gets a fresh container and succeeds; nothing else was disturbed
    again = rig.dispatcher.submit(rig.job("hello")).result(timeout=20)
    assert again.state == "succeeded" and again.container != view.container
    assert rig.runtime.attempts_of(job.task_id) == 1, "a malformed answer is not retried blindly"
    assert_sound(_db(rig), _rows(rig), [job.task_id])


def test_the_cap_is_applied_before_parsing(rig_for: Any) -> None:
    """At most the cap is read: a 5 MiB line with no newline is refused without reading it all."""
    sent = threading.Event()

    def endless(container: FakeContainer, request: dict[str, Any]) -> Any:
        if request.get("text") != "misbehave":
            return scripted(container, request)
        sent.set()
        return Raw(b"{" + b" " * HUGE)

    rig = rig_for(endless)
    view = rig.dispatcher.submit(rig.job("misbehave")).result(timeout=20)
    assert sent.is_set()
    assert f"{answer_cap(1024 * 1024):,} byte limit" in (view.error or ""), view.error


def test_a_late_answer_never_rewrites_a_terminal_state(rig_for: Any) -> None:
    """The container answers after the task timed out: the task stays failed with the timeout."""
    release = threading.Event()

    def late(container: FakeContainer, request: dict[str, Any]) -> Any:
        if request.get("text") != "late":
            return scripted(container, request)
        release.wait(10)
        return result(request, "too late")

    rig = rig_for(late)
    job = rig.job("late", timeout_s=0.5)
    from app.engine.tasks import dispatch

    original = dispatch.TIMEOUT_GRACE_S
    dispatch.TIMEOUT_GRACE_S = 0.2
    try:
        view = rig.dispatcher.submit(job).result(timeout=20)
    finally:
        dispatch.TIMEOUT_GRACE_S = original
    assert view.state == "failed" and view.error_kind == "timeout", view
    release.set()
    time.sleep(0.5)
    row = rig.stored(job.task_id)
    assert row.state == "failed" and row.error_kind == "timeout" and row.answer == ""
    assert "time limit" in row.error_message
    assert view.container in rig.runtime.removed


def _db(rig: Rig) -> Path:
    return Path(str(rig.store.engine.url.database))


def _rows(rig: Rig) -> list[dict[str, Any]]:
    return [dataclasses.asdict(r) for r in rig.store.list_tasks(limit=1000).result(timeout=10)]

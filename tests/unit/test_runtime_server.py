"""The in-container runtime server, run on the host (it is stdlib only) over a real socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "specialists" / "runtime"

HANDLER = """
import time
from switchboard_runtime.api import NeedsPlan, Result, SpecialistError, Table

def handle(task):
    if task.text == "sleep":
        time.sleep(3)
    if task.text == "boom":
        raise ValueError("kaput")
    if task.text == "oom":
        raise MemoryError()
    if task.text == "plan":
        raise NeedsPlan("need a plan")
    if task.text == "bad":
        raise SpecialistError("bad_input", "row 3 is wrong")
    if task.text == "big":
        return Result(answer="big", tables=[Table("t", ["n"], [[i] for i in range(50000)])])
    if task.text == "file":
        task.output_dir.mkdir(parents=True, exist_ok=True)
        (task.output_dir / "chart.png").write_bytes(b"png")
        return Result(answer="file")
    return Result(answer="hi", data={"nan": float("nan"), "raw": b"ab", "n": 2**100})
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Path]:
    """Start ``python -m switchboard_runtime`` with a toy handler; yield its socket path."""
    (tmp_path / "handler.py").write_text(HANDLER)
    sock = tmp_path / "s.sock"
    sock.write_text("stale")  # a stale file must be replaced
    env = {
        **os.environ,
        "PYTHONPATH": str(RUNTIME),
        "SWITCHBOARD_SOCKET": str(sock),
        "SWITCHBOARD_HANDLER": str(tmp_path / "handler.py"),
        "SWITCHBOARD_SPECIALIST": "toy",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchboard_runtime"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().decode().strip() == "READY toy"
    yield sock
    proc.terminate()
    assert proc.wait(timeout=5) == 0, "SIGTERM must end the server cleanly"
    proc.stdout.close()
    assert proc.stderr is not None
    proc.stderr.close()
    assert not sock.exists(), "the socket file is removed on exit"


def _ask(sock: Path, *messages: dict | bytes) -> list[dict]:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(sock))
    replies = []
    with conn, conn.makefile("rb") as reader:
        for message in messages:
            raw = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
            conn.sendall(raw)
            replies.append(json.loads(reader.readline()))
    return replies


def _task(text: str, **extra: object) -> dict:
    return {
        "v": 1,
        "kind": "task",
        "id": "t1",
        "text": text,
        "inputs": [],
        "plan": None,
        "output_dir": extra.pop("output_dir", "/nonexistent/out"),
        "timeout_s": 1.0,
        "max_output_bytes": 1048576,
        **extra,
    }


def test_ping_and_socket_mode(server: Path) -> None:
    (pong,) = _ask(server, {"v": 1, "kind": "ping"})
    assert pong["kind"] == "pong" and pong["specialist"] == "toy" and pong["rss_kb"] > 0
    assert server.stat().st_mode & 0o777 == 0o666


def test_results_are_json_safe(server: Path) -> None:
    (reply,) = _ask(server, _task("hi"))
    assert reply["ok"] and reply["answer"] == "hi"
    assert reply["data"] == {"nan": None, "raw": {"$bytes": "YWI="}, "n": 2**100}
    assert reply["timings"]["handler_ms"] >= 0


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        ("boom", "internal", "ValueError: kaput"),
        ("oom", "limit", "memory"),
        ("plan", "needs_plan", "need a plan"),
        ("bad", "bad_input", "row 3"),
        ("sleep", "timeout", "1 s"),
    ],
)
def test_errors_are_mapped(server: Path, text: str, kind: str, words: str) -> None:
    (reply,) = _ask(server, _task(text))
    assert not reply["ok"]
    assert reply["error"]["kind"] == kind and words in reply["error"]["message"]


def test_bad_requests(server: Path) -> None:
    replies = _ask(server, b"not json\n", {"v": 9, "kind": "ping"}, {"v": 1, "kind": "nope"}, _task("hi", plan=[1]))
    assert [r["error"]["kind"] for r in replies] == ["bad_input", "version", "unsupported", "bad_input"]


def test_output_is_truncated_to_budget(server: Path) -> None:
    (reply,) = _ask(server, _task("big", max_output_bytes=20000))
    assert reply["ok"] and reply["truncated"]
    assert 0 < len(reply["tables"][0]["rows"]) < 50000
    assert len(json.dumps(reply)) <= 20000 + 200


def test_artifacts_are_listed(server: Path, tmp_path: Path) -> None:
    (reply,) = _ask(server, _task("file", output_dir=str(tmp_path / "out")))
    assert reply["artifacts"] == [
        {"name": "chart.png", "path": str(tmp_path / "out" / "chart.png"), "bytes": 3, "mime": "image/png"}
    ]


def test_connections_are_served_concurrently(server: Path) -> None:
    import threading

    started = time.monotonic()
    threads = [threading.Thread(target=_ask, args=(server, _task("sleep"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started < 2.5  # three 1 s timeouts in parallel, not 3 s in a row

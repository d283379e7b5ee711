"""ChannelClient (the dispatcher's gateway connection) against the real runtime server, no Docker.

A stand-in for the gateway hands out plain Unix-socket connections to a runtime server run on
the host (it is stdlib only), so kept connections, streamed uploads, their refusals and the
lost-node check are tested on the same bytes the replica's server reads.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.core.errors import EngineError
from app.engine.fleet.channel_client import ChannelClient
from app.engine.fleet.transport import ConnectionLost
from tests.unit.host_runtime import Gateway, host_runtime

HANDLER = """
import hashlib, time
from switchboard_runtime.api import Result

def handle(task):
    if task.text == "sleep":
        time.sleep(5)
    sums = {i.name: hashlib.sha256(i.path.read_bytes()).hexdigest() for i in task.inputs}
    return Result(answer="read", data={"sums": sums})
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A runtime server with a small upload cap; its socket and its input root."""
    inputs = tmp_path / "input"
    env = {"SWITCHBOARD_INPUT_ROOT": str(inputs), "SWITCHBOARD_MAX_INPUT_BYTES": str(12 << 20)}
    with host_runtime(tmp_path, HANDLER, env) as sock:
        yield sock, inputs


def _task(task_id: str, text: str, inputs: list[dict[str, object]]) -> dict[str, object]:
    return {"v": 1, "kind": "task", "id": task_id, "text": text, "inputs": inputs, "timeout_s": 10}


def test_an_input_larger_than_a_request_line_is_uploaded_and_read_on_a_kept_connection(
    server: tuple[Path, Path], tmp_path: Path
) -> None:
    sock, root = server
    gateway = Gateway(sock)
    client = ChannelClient("sb-toy-1", gateway, lambda: False, max_idle=2)
    blob = tmp_path / "big.csv"
    blob.write_bytes(os.urandom(9 << 20))  # above the server's 8 MiB request line
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    try:
        stored = client.upload("t1", "big.csv", blob, digest, timeout_s=30)
        assert stored["kind"] == "stored" and stored["path"] == str(root / "t1" / "big.csv")
        ref = {"name": "big.csv", "path": stored["path"], "bytes": 9 << 20, "sha256": digest}
        answer = client.call(_task("t1", "sums", [ref]), timeout_s=10)
        assert answer["ok"] is True and answer["data"]["sums"] == {"big.csv": digest}
        # refused before any byte: over the cap, a bad digest, a folder in the name; the
        # connection stays in step and keeps serving
        with pytest.raises(EngineError, match="at most"):
            huge = tmp_path / "huge.bin"
            with huge.open("wb") as handle:
                handle.truncate(13 << 20)
            client.upload("t1", "huge.bin", huge, digest, timeout_s=10)
        with pytest.raises(EngineError, match="do not match"):
            client.upload("t1", "other.csv", blob, "0" * 64, timeout_s=30)
        with pytest.raises(EngineError, match="plain file name"):
            client.upload("t1", "../x", blob, digest, timeout_s=10)
        assert sorted(p.name for p in (root / "t1").iterdir()) == ["big.csv"]  # no partial file left
        assert client.call({"v": 1, "kind": "cleanup", "id": "t1", "inputs": True}, timeout_s=5)["ok"] is True
        assert not (root / "t1").exists()
        assert gateway.connects == 1  # one kept connection carried all of it
    finally:
        client.close()


def test_a_late_answer_ends_when_the_replicas_node_is_lost(server: tuple[Path, Path]) -> None:
    sock, _ = server
    lost = threading.Event()
    client = ChannelClient("sb-toy-2", Gateway(sock), lost.is_set, poll_s=0.1)
    threading.Timer(0.5, lost.set).start()
    began = time.monotonic()
    try:
        with pytest.raises(ConnectionLost, match="node lost"):
            client.call(_task("t2", "sleep", []), timeout_s=30)
        assert time.monotonic() - began < 3  # not the task's 30 s timeout
    finally:
        client.close()


def test_an_unreachable_replica_is_a_lost_connection(tmp_path: Path) -> None:
    client = ChannelClient("sb-gone", Gateway(tmp_path / "none.sock"), lambda: True)
    with pytest.raises(ConnectionLost, match="node lost"):
        client.call({"v": 1, "kind": "ping"}, timeout_s=2)
    client.close()
    with pytest.raises(ConnectionLost, match="going away"):
        client.call({"v": 1, "kind": "ping"}, timeout_s=2)

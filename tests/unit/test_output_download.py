"""A task's outputs over the channel (``get_outputs``) against the real runtime server, no Docker.

As in ``test_channel_client.py``, a stand-in for the gateway hands out plain Unix-socket
connections to a runtime server run on the host, so listing, digests, the cap and the refusal
of links are tested on the bytes the replica's server sends, on one kept connection.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.core.errors import BadInput, EngineError
from app.engine.fleet.channel_client import ChannelClient
from app.engine.fleet.output_download import collect_replica_outputs, download_outputs
from app.engine.fleet.transport import BadAnswer
from app.engine.store import BlobStore
from tests.unit.host_runtime import Gateway, host_runtime

HANDLER = """
from switchboard_runtime.api import Result

def handle(task):
    task.output_dir.mkdir(parents=True, exist_ok=True)
    (task.output_dir / "result.csv").write_text("city,n\\nOslo,3\\nLima,2\\n")
    (task.output_dir / "charts").mkdir()
    (task.output_dir / "charts" / "bar.png").write_bytes(bytes(range(256)) * 4000)
    return Result(answer="wrote")
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A runtime server whose tasks write under ``<tmp>/output``; its socket and that root."""
    root = tmp_path / "output"
    root.mkdir()
    with host_runtime(tmp_path, HANDLER, {"SWITCHBOARD_OUTPUT_ROOT": str(root)}) as sock:
        yield sock, root


def _run(client: ChannelClient, root: Path, task_id: str) -> None:
    request = {"v": 1, "kind": "task", "id": task_id, "text": "go", "output_dir": str(root / task_id), "timeout_s": 10}
    answer = client.call(request, timeout_s=10)
    assert answer["ok"] is True, answer
    assert sorted(a["name"] for a in answer["artifacts"]) == ["charts/bar.png", "result.csv"]


def test_outputs_are_listed_and_fetched_with_their_digests_on_a_kept_connection(
    server: tuple[Path, Path], tmp_path: Path
) -> None:
    sock, root = server
    gateway = Gateway(sock)
    client = ChannelClient("sb-toy-1", gateway, lambda: False)
    blobs = BlobStore(tmp_path / "blobs")
    try:
        _run(client, root, "t1")
        found = download_outputs(client, "t1", blobs, max_bytes=10 << 20)
        by_name = {view.name: (view, sha) for view, sha in found}
        assert sorted(by_name) == ["charts/bar.png", "result.csv"]
        for name, (view, sha) in by_name.items():
            data = (root / "t1" / name).read_bytes()
            assert sha == hashlib.sha256(data).hexdigest() and view.bytes == len(data)
            assert Path(view.path).read_bytes() == data  # in the blob store
        assert by_name["result.csv"][0].mime == "text/csv" and by_name["charts/bar.png"][0].mime == "image/png"
        # a task that wrote nothing: an empty listing, not an error
        assert download_outputs(client, "never-ran", blobs, max_bytes=1) == []
        # over the cap: refused before a byte is sent, as the local path does
        with pytest.raises(BadInput, match="at most 1,000 are copied out"):
            download_outputs(client, "t1", blobs, max_bytes=1000)
        with pytest.raises(BadInput):  # and through the dispatcher's entry point too
            collect_replica_outputs(None, "sb-toy-1", client, "t1", blobs, max_bytes=1000)  # type: ignore[arg-type]
        # the connection is still in step after every refusal
        assert client.call({"v": 1, "kind": "ping"}, timeout_s=5)["kind"] == "pong"
        assert client.call({"v": 1, "kind": "cleanup", "id": "t1"}, timeout_s=5)["ok"] is True
        assert not (root / "t1").exists()
        assert gateway.connects == 1
    finally:
        client.close()


def test_links_are_never_followed_and_a_task_id_cannot_leave_the_output_folder(
    server: tuple[Path, Path], tmp_path: Path
) -> None:
    sock, root = server
    secret = tmp_path / "secret.txt"
    secret.write_text("not an output")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "also-secret.txt").write_text("nor this")
    client = ChannelClient("sb-toy-2", Gateway(sock), lambda: False)
    blobs = BlobStore(tmp_path / "blobs")
    try:
        _run(client, root, "t2")
        (root / "t2" / "passwd").symlink_to(secret)  # a file link and a folder link inside the task's folder
        (root / "t2" / "more").symlink_to(tmp_path / "elsewhere")
        os.mkfifo(root / "t2" / "pipe")  # never opened: it would block a reader
        found = download_outputs(client, "t2", blobs, max_bytes=10 << 20)
        assert sorted(view.name for view, _ in found) == ["charts/bar.png", "result.csv"]
        # the task's folder itself a link to somewhere else: refused
        (root / "t3").symlink_to(tmp_path / "elsewhere")
        with pytest.raises(EngineError, match="not a folder of its own"):
            download_outputs(client, "t3", blobs, max_bytes=10 << 20)
        # an id that names another folder: refused by the server
        for bad in ("..", "../output", "t2/charts"):
            with pytest.raises(EngineError, match="plain task id"):
                download_outputs(client, bad, blobs, max_bytes=10 << 20)
        assert client.call({"v": 1, "kind": "ping"}, timeout_s=5)["kind"] == "pong"
    finally:
        client.close()


def test_the_framing_on_the_wire(server: tuple[Path, Path]) -> None:
    """One header line, then exactly the listed bytes; a refusal is one line and nothing after it."""
    sock, root = server
    (root / "t4").mkdir()
    (root / "t4" / "a.txt").write_bytes(b"hello\n")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(sock))
        conn.settimeout(5)
        reader = conn.makefile("rb")
        conn.sendall(b'{"v": 1, "kind": "get_outputs", "id": "t4", "max_bytes": 3}\n')
        refused = json.loads(reader.readline())
        assert refused["ok"] is False and refused["error"]["kind"] == "limit"
        conn.sendall(b'{"v": 1, "kind": "get_outputs", "id": "t4", "max_bytes": 100}\n')
        head = json.loads(reader.readline())
        assert head["files"] == [{"name": "a.txt", "bytes": 6, "sha256": hashlib.sha256(b"hello\n").hexdigest()}]
        assert head["bytes"] == 6 and reader.read(6) == b"hello\n"
        conn.sendall(b'{"v": 1, "kind": "ping"}\n')
        assert json.loads(reader.readline())["kind"] == "pong"


class Canned:
    """A connector whose replica answers any request with fixed bytes (a replica that lies)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.peers: list[socket.socket] = []

    def connect(self, replica: str) -> socket.socket:
        ours, theirs = socket.socketpair()
        theirs.sendall(self.answer)
        self.peers.append(theirs)
        return ours

    def close(self) -> None:
        for peer in self.peers:
            peer.close()


def _head(files: list[dict[str, object]], total: int) -> bytes:
    return json.dumps({"v": 1, "ok": True, "kind": "outputs", "files": files, "bytes": total}).encode() + b"\n"


def test_a_lying_header_is_refused_and_a_changed_file_is_dropped(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    good = hashlib.sha256(b"abc").hexdigest()
    # a file whose bytes do not match its digest is dropped; the other arrives; the connection is kept
    files: list[dict[str, object]] = [{"name": "x", "bytes": 3, "sha256": "0" * 64}]
    files.append({"name": "y", "bytes": 3, "sha256": good})
    canned = Canned(_head(files, 6) + b"abcabc")
    client = ChannelClient("sb-liar", canned, lambda: False)
    assert [view.name for view, _ in download_outputs(client, "t", blobs, max_bytes=100)] == ["y"]
    assert len(client._socks) == 1
    client.close()
    canned.close()
    for listed, total in (
        ([{"name": "../../etc/x", "bytes": 3, "sha256": good}], 3),
        ([{"name": "/etc/x", "bytes": 3, "sha256": good}], 3),
        ([{"name": "a", "bytes": 3, "sha256": good}], 4),  # sizes that do not add up
    ):
        canned = Canned(_head(listed, total) + b"abc")
        client = ChannelClient("sb-liar", canned, lambda: False)
        with pytest.raises(BadAnswer):
            download_outputs(client, "t", blobs, max_bytes=100)
        assert client._socks == []  # out of step: closed, not kept
        client.close()
        canned.close()
    # past the engine's cap although the replica did not refuse
    canned = Canned(_head([{"name": "a", "bytes": 3, "sha256": good}], 3))
    client = ChannelClient("sb-liar", canned, lambda: False)
    with pytest.raises(BadInput, match="exceed"):
        download_outputs(client, "t", blobs, max_bytes=2)
    client.close()
    canned.close()

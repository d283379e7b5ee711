"""A task's output files, from wherever its replica runs: the Docker engine here, or the channel.

A replica on this host (or one whose node's engine answers) gives its ``/output/<task>`` as a
``tar`` through the Docker API (:func:`~app.engine.fleet.outputs.collect_outputs`). A replica
reached through the Swarm channel gateway (``swarm_multi_node``) may run on a node whose engine
the engine cannot reach, so its files come over the channel (the runtime's ``downloads.py``):

1. ``{"kind": "get_outputs", "id": <task>, "max_bytes": <cap>}``;
2. one header line listing the files (relative name, size, sha256) and their total, or a
   refusal (over the cap, a task folder that is a link) after which nothing follows;
3. exactly that many bytes, the files in the listed order.

The cap is the same as the local path's (``limits.output_mb``, enforced by the server before a
byte is sent, and again here). The header comes from the replica, so it is checked as hostile
input: plain relative names, at most ``MAX_FILES``, sizes that add up; each file's digest is
checked and a file whose bytes do not match is dropped. Every byte is read even then, so the
connection stays in step and is kept for the next request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from app.engine.core.errors import BadInput, EngineError
from app.engine.core.views import ArtifactView
from app.engine.fleet.channel_client import ChannelClient, ChannelReader
from app.engine.fleet.outputs import MAX_FILES, collect_outputs
from app.engine.fleet.transport import BadAnswer, SocketClient
from app.engine.runtime.protocol import ContainerRuntime
from app.engine.store import BlobStore

__all__ = ["collect_replica_outputs", "download_outputs"]

log = logging.getLogger(__name__)

HEADER_CAP = 1 << 20  # 200 names of up to 1 KiB each, with sizes and digests
SILENCE_S = 30.0  # the longest pause allowed between two pieces of a download
CHUNK = 1 << 20
_HEX = re.compile(r"^[0-9a-f]{64}$")

Found = list[tuple[ArtifactView, str]]


def collect_replica_outputs(
    runtime: ContainerRuntime, name: str, client: SocketClient, task_id: str, blobs: BlobStore, max_bytes: int
) -> Found:
    """Copy ``/output/<task_id>`` of replica ``name`` into the blob store: over the channel or the engine.

    Returns (artifact view, sha256) pairs named relative to the task's folder; ``BadInput``
    when the files exceed ``max_bytes``; an empty list when the replica is gone.
    """
    if not isinstance(client, ChannelClient):
        return collect_outputs(runtime, name, task_id, blobs, max_bytes)
    try:
        return download_outputs(client, task_id, blobs, max_bytes)
    except BadInput:
        raise  # over the size cap
    except (EngineError, TimeoutError) as exc:  # as the local path: gone, or refused (a linked folder)
        log.warning("could not download the outputs of %s from %s: %s", task_id, name, exc)
        return []


def download_outputs(client: ChannelClient, task_id: str, blobs: BlobStore, max_bytes: int) -> Found:
    """Fetch the task's output files over ``client``'s channel into the blob store.

    Raises ``BadInput`` when the replica refuses for the cap, ``EngineError`` for another
    refusal, ``BadAnswer`` for a header that breaks the protocol, and ``ConnectionLost`` /
    ``TimeoutError`` as :meth:`ChannelClient.call`.
    """
    request = {"v": 1, "kind": "get_outputs", "id": task_id, "max_bytes": max_bytes}
    with tempfile.TemporaryDirectory(prefix="sb-out-") as tmp:
        outcome = client.stream(request, SILENCE_S, lambda reader: _receive(reader, Path(tmp), blobs, max_bytes))
    if isinstance(outcome, EngineError):
        raise outcome  # a refusal: nothing followed it, so the connection was kept
    return outcome


def _receive(reader: ChannelReader, tmp: Path, blobs: BlobStore, max_bytes: int) -> Found | EngineError:
    head = _header(reader.line(HEADER_CAP))
    if isinstance(head, EngineError):
        return head
    if sum(item["bytes"] for item in head) > max_bytes:  # a replica that ignores the cap is still held to it
        raise BadInput(f"the outputs exceed {max_bytes / 1e6:.0f} MB; not collected")  # closes the connection
    found: Found = []
    for index, item in enumerate(head):
        dest = tmp / f"{index}.bin"
        digest = hashlib.sha256()
        left = item["bytes"]
        with open(dest, "wb") as out:
            while left > 0:
                data = reader.read(min(CHUNK, left))
                digest.update(data)
                out.write(data)
                left -= len(data)
        name = item["name"]
        if digest.hexdigest() != item["sha256"]:
            log.warning("output %s changed while it was sent (its sha256 does not match): dropped", name)
            continue
        ref = blobs.put_file(dest)
        dest.unlink()
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        view = ArtifactView(name=name, path=str(blobs.path(ref.sha256)), bytes=ref.bytes, mime=mime)
        found.append((view, ref.sha256))
    return found


def _header(line: bytes) -> list[dict[str, Any]] | EngineError:
    """The listed files, checked; a refusal as ``BadInput`` (the cap) or ``EngineError``; ``BadAnswer`` raised."""
    try:
        head = json.loads(line)
    except ValueError as exc:
        raise BadAnswer(f"the specialist's outputs header is not JSON: {exc}") from exc
    if not isinstance(head, dict):
        raise BadAnswer("the specialist's outputs header is not an object")
    if head.get("ok") is not True:
        error = head.get("error")
        if not isinstance(error, dict):
            error = {}
        message = str(error.get("message") or head)
        if error.get("kind") == "limit":
            return BadInput(message)
        return EngineError(f"the replica refused to send the outputs: {message}")
    files = head.get("files")
    if head.get("kind") != "outputs" or not isinstance(files, list) or len(files) > MAX_FILES:
        raise BadAnswer("the specialist's outputs header has no list of at most 200 files")
    seen: set[str] = set()
    total = 0
    for item in files:
        if not isinstance(item, dict):
            raise BadAnswer("an entry of the outputs header is not an object")
        name, size, sha = item.get("name"), item.get("bytes"), item.get("sha256")
        if not (isinstance(size, int) and not isinstance(size, bool) and size >= 0):
            raise BadAnswer(f"output {name!r} has no size")
        if not (isinstance(sha, str) and _HEX.match(sha)):
            raise BadAnswer(f"output {name!r} has no sha256")
        if not isinstance(name, str) or not _relative(name) or name in seen:
            raise BadAnswer(f"output name {name!r} is not a plain relative path inside the task's folder")
        seen.add(name)
        total += size
    if total != head.get("bytes"):
        raise BadAnswer("the outputs header's sizes do not add up to its total")
    return files


def _relative(name: object) -> bool:
    if not isinstance(name, str) or not name or len(name) > 1024 or "\x00" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and all(part not in ("", ".", "..") for part in name.split("/"))

"""Put a task's inputs where its replica reads them: linked into the exchange folder, or uploaded.

A replica on this host reads ``/input/<task>`` from its bind-mounted exchange folder, so the
stored blobs are hard-linked there. A replica reached through the Swarm channel gateway
(another node, no shared folder) gets each input uploaded over the channel instead
(:meth:`~app.engine.fleet.channel_client.ChannelClient.upload`), into a tmpfs folder of its
own (``<upload root>/<task>/<name>``, the path its ``stored`` answer names and the task request
then carries); the server there removes them with the task's ``cleanup``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from app.engine.core.errors import EngineError, TaskFailed
from app.engine.fleet.channel_client import ChannelClient
from app.engine.fleet.lifecycle import Replica
from app.engine.fleet.transport import BadAnswer, ConnectionLost
from app.engine.store import BlobStore

__all__ = ["clear_inputs", "stage_inputs"]

UPLOAD_BYTES_PER_S = 20 << 20  # a floor for the upload timeout: 200 MB in ten seconds plus slack


class InputLike(Protocol):
    """A stored input of a task (``InputRecord``)."""

    @property
    def name(self) -> str:
        """File name inside the task's input folder."""
        ...

    @property
    def sha256(self) -> str:
        """The blob's digest."""
        ...

    @property
    def bytes(self) -> int:
        """Its size."""
        ...


def upload_timeout_s(size: int) -> float:
    """Seconds allowed for uploading ``size`` bytes through the gateway."""
    return 30.0 + size / UPLOAD_BYTES_PER_S


def stage_inputs(replica: Replica, blobs: BlobStore, task_id: str, inputs: Sequence[InputLike]) -> list[dict[str, Any]]:
    """Make ``inputs`` readable at ``/input/<task_id>/<name>`` in ``replica``; their wire refs.

    Raises :class:`~app.engine.fleet.transport.ConnectionLost` when the replica cannot be reached
    (the dispatcher treats that as a container gone) and :class:`TaskFailed` when it refuses
    an input (over its cap, a digest mismatch, its upload folder full).
    """
    remote = isinstance(replica.client, ChannelClient)
    if inputs and not remote:
        replica.exchange.prepare_task(task_id)
    refs = []
    for item in inputs:
        path = f"/input/{task_id}/{item.name}"
        if isinstance(replica.client, ChannelClient):
            try:
                stored = replica.client.upload(
                    task_id, item.name, blobs.path(item.sha256), item.sha256, upload_timeout_s(item.bytes)
                )
            except ConnectionLost:
                raise
            except TimeoutError as exc:  # the replica stopped taking bytes: treated like a lost connection
                raise ConnectionLost(f"uploading input {item.name} to {replica.name} timed out: {exc}") from exc
            except (BadAnswer, EngineError) as exc:
                raise TaskFailed(
                    f"input {item.name} could not be given to {replica.name}: {exc}", kind="limit"
                ) from exc
            path = str(stored.get("path") or path)  # where the replica keeps uploads (under /tmp on Swarm)
        else:
            blobs.link_into(item.sha256, replica.exchange.task_in(task_id) / item.name)
        refs.append({"name": item.name, "path": path, "bytes": item.bytes, "sha256": item.sha256})
    return refs


def clear_inputs(replica: Replica, task_id: str, *, had_inputs: bool) -> None:
    """Remove a task's staged inputs: the exchange folder here, or the uploads in the replica."""
    if not had_inputs:
        return
    if not isinstance(replica.client, ChannelClient):
        replica.exchange.clear_task(task_id, had_inputs=True)
        return
    if replica.retired:
        return  # the replica is going away, and its tmpfs with it
    try:
        replica.client.call({"v": 1, "kind": "cleanup", "id": task_id, "inputs": True}, timeout_s=10)
    except (ConnectionLost, BadAnswer, TimeoutError):
        pass  # a replica that does not answer is replaced; its tmpfs goes with it

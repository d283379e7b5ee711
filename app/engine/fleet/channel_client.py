"""The dispatcher's connection to a replica on another node: through the channel gateway, kept open.

In the Swarm multi-node mode (``swarm_multi_node``) a replica may run on any node, where there
is no exchange folder to hold its socket. :class:`ChannelClient` speaks the same wire protocol
as :class:`~app.engine.fleet.transport.SocketClient` (whose place it takes in a
:class:`~app.engine.fleet.lifecycle.Replica`) over connections the gateway opens to the
replica's relay (:class:`~app.engine.runtime.swarm_channel.GatewayClient`). Connections are
pooled and kept open: a new one costs 1-3 ms more than a kept one (docs/scale-out.md).

Two things differ from a local socket:

- **A lost node does not close the connection**: the replica's TCP peer vanishes without a
  reset, so an answer would be awaited until the task's timeout. While an answer is awaited,
  every ``poll_s`` of silence asks ``lost()`` (the manager's view of the replica's node); a lost
  node ends the call with :class:`~app.engine.fleet.transport.ConnectionLost`, which the
  dispatcher retries once on another replica, as for a container that died.
- **Inputs are uploaded** (:meth:`ChannelClient.upload`): a ``put`` request line, then the
  file's bytes, into the replica's ``/input/<task>`` (a tmpfs there).
- **Outputs are downloaded** over a :meth:`ChannelClient.stream` (``fleet/output_download.py``):
  a ``get_outputs`` line, the server's header line, then the files' bytes.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from app.engine.core.errors import EngineError
from app.engine.fleet.transport import MAX_LINE, BadAnswer, ConnectionLost, SocketClient, parse_answer

__all__ = ["ChannelClient", "ChannelReader", "Connector"]

T = TypeVar("T")

POLL_S = 1.0  # silence before asking whether the replica's node is still there
ANSWER_CAP = 64 * 1024  # a ping or put answer is small


class Connector(Protocol):
    """What opens a connection to a replica (``GatewayClient``)."""

    def connect(self, replica: str) -> socket.socket:
        """A connected socket speaking the wire protocol with ``replica``; ``EngineError`` if not."""
        ...


class ChannelClient(SocketClient):
    """A pool of kept-open gateway connections to one replica; thread-safe, one request per connection.

    Parameters
    ----------
    name
        The replica (its service name, which the gateway resolves on the overlay).
    gateway
        Opens connections (``GatewayClient``).
    lost
        Whether the replica's node is gone (``SwarmRuntime.replica_lost``); asked only while an
        answer is late by ``poll_s``, so an answer that comes in time costs no Docker call.
    """

    uploads = True  # inputs travel over the channel, not through a shared folder

    def __init__(
        self,
        name: str,
        gateway: Connector,
        lost: Callable[[], bool],
        *,
        max_idle: int = 8,
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__(Path(f"gateway:{name}"), max_idle=max_idle)
        self.name = name
        self._gateway = gateway
        self._lost = lost
        self.poll_s = poll_s
        self._socks: list[socket.socket] = []
        self._sock_lock = threading.Lock()

    # -- connections ----------------------------------------------------------------------
    def _open(self) -> socket.socket:
        with self._sock_lock:
            if self._closed:
                raise ConnectionLost("the container is going away")
            if self._socks:
                return self._socks.pop()
        try:
            return self._gateway.connect(self.name)
        except (EngineError, OSError) as exc:
            if self.node_lost():
                raise ConnectionLost(f"node lost: replica {self.name} cannot be reached ({exc})") from exc
            raise ConnectionLost(f"the replica {self.name} does not answer through the gateway: {exc}") from exc

    def _keep(self, sock: socket.socket) -> None:
        with self._sock_lock:
            if not self._closed and len(self._socks) < self._max_idle:
                self._socks.append(sock)
                return
        sock.close()

    def close(self) -> None:
        """Close every idle connection; calls in flight finish or fail on their own."""
        super().close()
        with self._sock_lock:
            idle, self._socks = self._socks, []
        for sock in idle:
            sock.close()

    def node_lost(self) -> bool:
        """Whether the replica's node is gone (``False`` when the manager does not answer)."""
        try:
            return self._lost()
        except EngineError:
            return False  # the manager does not answer: not evidence that the node is gone

    # -- requests -------------------------------------------------------------------------
    def call(self, message: dict[str, Any], timeout_s: float, max_bytes: int = MAX_LINE) -> dict[str, Any]:
        """Send one message and wait for its answer (the errors of ``SocketClient.call``)."""
        return self._exchange(json.dumps(message, separators=(",", ":")).encode() + b"\n", None, timeout_s, max_bytes)

    def upload(self, task_id: str, name: str, path: Path, sha256: str, timeout_s: float) -> dict[str, Any]:
        """Put the file at ``path`` into the replica's ``/input/<task_id>/<name>``; the server's answer.

        One ``put`` line with the size and digest; the server answers ``ready`` (or refuses, a
        file above its cap, before any byte is sent); then exactly that many bytes on the same
        connection, and the server's answer once it checked the digest (``stored`` or an error).
        """
        size = path.stat().st_size
        head = {"v": 1, "kind": "put", "id": task_id, "name": name, "bytes": size, "sha256": sha256}
        answer = self._exchange(json.dumps(head).encode() + b"\n", path, timeout_s, ANSWER_CAP)
        if answer.get("ok") is not True:
            error = answer.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else error
            raise EngineError(f"the replica {self.name} refused input {name}: {message or answer}")
        return answer

    def stream(self, message: dict[str, Any], timeout_s: float, body: Callable[[ChannelReader], T]) -> T:
        """Send one message, then let ``body`` read the answer (a header line and bytes) from a reader.

        The connection is kept only when ``body`` returned and left no byte unread (in step
        for the next request); otherwise it is closed. ``timeout_s`` bounds each silence, not
        the whole transfer. Errors as :meth:`call`.
        """
        sock = self._open()
        ok = False
        try:
            sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")
            reader = ChannelReader(self, sock, timeout_s)
            result = body(reader)
            ok = not reader.pending
            return result
        except (ConnectionLost, BadAnswer, TimeoutError):
            raise
        except OSError as exc:
            raise ConnectionLost(f"connection to the specialist failed: {exc}") from exc
        finally:
            if ok:
                self._keep(sock)
            else:
                sock.close()

    def _exchange(self, head: bytes, body: Path | None, timeout_s: float, max_bytes: int) -> dict[str, Any]:
        sock = self._open()
        ok = False
        try:
            sock.settimeout(timeout_s)
            sock.sendall(head)
            if body is not None:  # the server says ready (or why not) before it reads the bytes
                answer = parse_answer(self._read_line(sock, timeout_s, ANSWER_CAP), ANSWER_CAP)
                if answer.get("ok") is not True:
                    ok = True  # refused before the body: the connection is still in step
                    return answer
                with body.open("rb") as handle:
                    sock.sendfile(handle)
            answer = parse_answer(self._read_line(sock, timeout_s, max_bytes), max_bytes)
            ok = True
            return answer
        except (ConnectionLost, BadAnswer, TimeoutError):
            raise
        except OSError as exc:
            raise ConnectionLost(f"connection to the specialist failed: {exc}") from exc
        finally:
            if ok:
                self._keep(sock)
            else:
                sock.close()

    def _read_line(self, sock: socket.socket, timeout_s: float, max_bytes: int) -> bytes:
        """One answer line (with its newline; at most ``max_bytes``), asking after the node while it is late."""
        deadline = time.monotonic() + timeout_s
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer from the specialist within {timeout_s:g} s")
            sock.settimeout(min(self.poll_s, remaining))
            try:
                data = sock.recv(min(1 << 16, max_bytes - size))
            except TimeoutError:
                if self.node_lost():
                    raise ConnectionLost(f"node lost: the node of replica {self.name} is not ready") from None
                continue
            if not data:
                if self.node_lost():
                    raise ConnectionLost(f"node lost: the node of replica {self.name} is not ready")
                raise ConnectionLost("the specialist closed the connection before answering")
            end = data.find(b"\n")
            if end >= 0:
                if end + 1 < len(data):  # one request in flight: nothing may follow its answer
                    raise BadAnswer("the specialist sent more than one answer line")
                chunks.append(data)
                return b"".join(chunks)
            chunks.append(data)
            size += len(data)
            if size >= max_bytes:
                return b"".join(chunks)  # parse_answer names the cap


class ChannelReader:
    """Buffered reads of one answer on a channel connection: a line, then exact byte counts.

    Each read waits at most ``timeout_s`` of silence, asking ``ChannelClient``'s lost-node check
    every ``poll_s`` meanwhile, as :meth:`ChannelClient.call` does.
    """

    def __init__(self, client: ChannelClient, sock: socket.socket, timeout_s: float) -> None:
        self._client = client
        self._sock = sock
        self._timeout_s = timeout_s
        self._buffer = b""

    @property
    def pending(self) -> bool:
        """Whether bytes were received that no read took (the connection is out of step)."""
        return bool(self._buffer)

    def line(self, max_bytes: int) -> bytes:
        """One line with its newline; ``BadAnswer`` when none ends within ``max_bytes``."""
        while True:
            end = self._buffer.find(b"\n")
            if 0 <= end < max_bytes:
                line, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
                return line
            if len(self._buffer) >= max_bytes:
                raise BadAnswer(f"the specialist's answer line is longer than {max_bytes:,} bytes")
            self._buffer += self._recv(1 << 16)

    def read(self, size: int) -> bytes:
        """Between 1 and ``size`` bytes (``size`` > 0); ``ConnectionLost`` when the connection ends."""
        if not self._buffer:
            self._buffer = self._recv(max(size, 1 << 16))
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _recv(self, size: int) -> bytes:
        deadline = time.monotonic() + self._timeout_s
        name = self._client.name
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the specialist sent nothing for {self._timeout_s:g} s")
            self._sock.settimeout(min(self._client.poll_s, remaining))
            try:
                data = self._sock.recv(min(size, 1 << 20))
            except TimeoutError:
                if self._client.node_lost():
                    raise ConnectionLost(f"node lost: the node of replica {name} is not ready") from None
                continue
            if data:
                return data
            if self._client.node_lost():
                raise ConnectionLost(f"node lost: the node of replica {name} is not ready")
            raise ConnectionLost("the specialist closed the connection in the middle of its answer")

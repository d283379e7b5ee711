"""A fake container that can send raw bytes: malformed answers for the dispatcher to survive."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

from tests.unit import fake_runtime
from tests.unit.fake_runtime import FakeContainer


@dataclass(frozen=True)
class Raw:
    """Bytes to send as the answer; ``close`` cuts the connection after them."""

    data: bytes
    close: bool = True


class RawContainer(FakeContainer):
    """Like :class:`FakeContainer`, but a behaviour may return :class:`Raw` bytes."""

    def _serve_conn(self, conn: socket.socket) -> None:
        try:
            with conn.makefile("rb") as reader:
                for line in reader:
                    request = json.loads(line)
                    reply = self.runtime.answer(self, request)
                    if reply is None or self.stopped.is_set():
                        return
                    if isinstance(reply, Raw):
                        conn.sendall(reply.data)
                        if reply.close:
                            return
                        continue
                    conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            return
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            conn.close()


def install(monkeypatch: object) -> None:
    """Make :func:`fake_runtime.make_rig` build :class:`RawContainer` containers."""
    monkeypatch.setattr(fake_runtime, "FakeContainer", RawContainer)  # type: ignore[attr-defined]

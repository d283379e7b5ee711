"""The channel gateway's program: a Unix socket on the manager, forwarded to replicas on the overlay.

Not imported by the engine: :mod:`app.engine.runtime.swarm_channel` passes this file's source
to ``python3 -c`` in the gateway service (standard library only, any Python 3 image).

The gateway runs on the engine's node (a placement constraint), joins the channel overlay
network, and listens on ``$GATEWAY_SOCKET`` in a folder bind-mounted from the engine's host, so
the engine reaches replicas on any node while nothing listens on a host address. Per
connection the engine sends one header line ``{"replica": "<service name>"}``; the gateway
resolves the name on the overlay (the replica's service uses DNS round robin, so the name is
its task's address), connects to its relay port, answers ``{"ok": true}`` (or ``false`` with
an ``error``) and from then on copies bytes both ways until either side closes. One
connection carries any number of the wire protocol's request/answer lines.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import threading

HEADER_MAX = 512
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
CHUNK = 1 << 16


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy ``src`` to ``dst`` until EOF, then half-close ``dst`` so its reader sees the end too."""
    try:
        while True:
            data = src.recv(CHUNK)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _keepalive(sock: socket.socket) -> None:
    """Probe an idle upstream connection, so a vanished peer is noticed.

    A replica whose node went away sends no reset: without probes the copying threads of its
    connection would wait for it forever (about 20 s with these).
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 2)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _header(conn: socket.socket) -> dict[str, object]:
    raw = b""
    while not raw.endswith(b"\n"):
        byte = conn.recv(1)  # byte by byte: nothing after the header may be consumed here
        if not byte or len(raw) >= HEADER_MAX:
            raise ValueError("no header line")
        raw += byte
    found = json.loads(raw)
    if not isinstance(found, dict):
        raise ValueError("the header is not an object")
    return found


def _reply(conn: socket.socket, ok: bool, error: str = "") -> None:
    conn.sendall(json.dumps({"ok": ok, **({"error": error} if error else {})}).encode() + b"\n")


def _serve(conn: socket.socket, port: int, connect_timeout_s: float) -> None:
    upstream: socket.socket | None = None
    try:
        try:
            header = _header(conn)
            name = str(header.get("replica") or "")
            if not NAME.match(name):
                raise ValueError(f"not a replica name: {name[:60]!r}")
            upstream = socket.create_connection((name, port), timeout=connect_timeout_s)
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _keepalive(upstream)
        except (OSError, ValueError) as exc:
            _reply(conn, False, f"{type(exc).__name__}: {exc}"[:300])
            return
        _reply(conn, True)
        back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
        back.start()
        _pump(conn, upstream)
        back.join()
    finally:
        if upstream is not None:
            upstream.close()
        conn.close()


def main() -> int:
    """Listen on ``$GATEWAY_SOCKET`` and forward every connection; stop on SIGTERM."""
    path = os.environ.get("GATEWAY_SOCKET", "/run/gateway/gateway.sock")
    port = int(os.environ.get("GATEWAY_REPLICA_PORT", "7070"))
    connect_timeout_s = float(os.environ.get("GATEWAY_CONNECT_TIMEOUT_S", "5"))
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o666)
    listener.listen(128)
    stop = threading.Event()

    def on_term(_signum: int, _frame: object) -> None:
        stop.set()
        listener.close()

    signal.signal(signal.SIGTERM, on_term)
    print(f"READY gateway {path} -> replicas:{port}", flush=True)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            break
        threading.Thread(target=_serve, args=(conn, port, connect_timeout_s), daemon=True).start()
    try:
        os.unlink(path)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The replica side of the channel: TCP on the overlay address only, forwarded to the server's Unix socket.

Not imported by the engine: :mod:`app.engine.runtime.swarm_channel` runs this file's source as
``python3 -c <source> <server command...>`` inside a replica placed by the multi-node mode, so
every specialist image works unchanged (its server keeps listening on ``$SWITCHBOARD_SOCKET``,
now in a tmpfs of the container rather than a bind-mounted host folder).

The relay starts the server as its child, forwards SIGTERM/SIGINT to it and exits with its exit
code. It listens on ``$SWITCHBOARD_CHANNEL_PORT`` on one address: its own on the channel overlay,
found by "connecting" a UDP socket towards ``$SWITCHBOARD_CHANNEL_SUBNET`` (no packet is sent)
and reading the local address the kernel picked. Not ``0.0.0.0``: a replica that also has a
network of its own (``needs_network``) does not offer its server there.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
import time

CHUNK = 1 << 16


def overlay_address(subnet: str) -> str:
    """The container's own address on ``subnet`` (the route the kernel picks towards it)."""
    net = ipaddress.ip_network(subnet, strict=False)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect((str(net.network_address + 1), 9))  # UDP connect sends nothing
        return str(probe.getsockname()[0])
    finally:
        probe.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
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


def _forward(conn: socket.socket, unix_path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(unix_path)
        back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
        back.start()
        _pump(conn, upstream)
        back.join()
    except OSError:
        pass
    finally:
        upstream.close()
        conn.close()


def main(argv: list[str]) -> int:
    """Start the server ``argv``, relay the channel port to its socket, exit with its code."""
    if not argv:
        print("channel relay: no server command", file=sys.stderr)
        return 2
    unix_path = os.environ.get("SWITCHBOARD_SOCKET", "/run/switchboard/specialist.sock")
    port = int(os.environ.get("SWITCHBOARD_CHANNEL_PORT", "7070"))
    subnet = os.environ.get("SWITCHBOARD_CHANNEL_SUBNET", "")
    child = subprocess.Popen(argv)

    def on_signal(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    address = overlay_address(subnet) if subnet else "0.0.0.0"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(64)
    listener.settimeout(0.5)
    print(f"channel relay: {address}:{port} -> {unix_path}", file=sys.stderr, flush=True)
    while child.poll() is None:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            time.sleep(0.1)
            continue
        conn.settimeout(None)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_forward, args=(conn, unix_path), daemon=True).start()
    listener.close()
    code = int(child.returncode or 0)
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

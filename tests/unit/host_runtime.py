"""The replica's runtime server run on the host (it is stdlib only), and a stand-in gateway to reach it.

Tests of the dispatcher's channel use these to talk to the same server code a replica runs,
over a plain Unix socket, without Docker.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.engine.core.errors import EngineError

RUNTIME = Path(__file__).resolve().parents[2] / "specialists" / "runtime"


class Gateway:
    """Connects to a Unix socket and counts connections (``GatewayClient.connect``'s contract)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connects = 0

    def connect(self, replica: str) -> socket.socket:
        self.connects += 1
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(self.path))
        except OSError as exc:
            sock.close()
            raise EngineError(f"cannot reach {replica}: {exc}") from exc
        return sock


@contextmanager
def host_runtime(folder: Path, handler: str, env: dict[str, str]) -> Iterator[Path]:
    """Run a runtime server with ``handler`` (source text) and extra ``env``; yields its socket."""
    (folder / "handler.py").write_text(handler)
    sock = folder / "s.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "switchboard_runtime"],
        env={
            **os.environ,
            "PYTHONPATH": str(RUNTIME),
            "SWITCHBOARD_SOCKET": str(sock),
            "SWITCHBOARD_HANDLER": str(folder / "handler.py"),
            "SWITCHBOARD_SPECIALIST": "toy",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().decode().strip() == "READY toy"
    try:
        yield sock
    finally:
        proc.terminate()
        proc.communicate(timeout=10)

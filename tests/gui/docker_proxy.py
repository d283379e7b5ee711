"""A Unix-socket forwarder to the Docker daemon that a test can cut and restore.

Pointing an engine at ``unix://<proxy socket>`` lets a test make "Docker" disappear and come
back for that engine alone, without touching the daemon other tests and engineers share.
Stopping the proxy closes the listening socket and every open connection (clients see a
reset, new connects are refused); starting it again listens on the same path.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading
from pathlib import Path

__all__ = ["DockerProxy"]

DAEMON_SOCKET = "/var/run/docker.sock"


class DockerProxy:
    """Accept on ``path`` and pipe every connection's bytes to ``target`` and back."""

    def __init__(self, path: Path, target: str = DAEMON_SOCKET) -> None:
        self.path = Path(path)
        self.target = target
        self.connections = 0  # accepted so far (tests check the engine really used the proxy)
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._acceptor: threading.Thread | None = None
        self._pumps: list[threading.Thread] = []
        self._open: set[socket.socket] = set()

    @property
    def url(self) -> str:
        """The ``docker_url`` an engine should use."""
        return f"unix://{self.path}"

    @property
    def running(self) -> bool:
        """True while the proxy accepts connections."""
        return self._listener is not None

    def start(self) -> None:
        """Listen on ``path`` (again) in a background thread."""
        if self._listener is not None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        listener.settimeout(0.2)  # so the accept loop notices stop() quickly
        self._stop = threading.Event()
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener, self._stop), name="test-docker-proxy", daemon=True
        )
        self._acceptor.start()

    def stop(self) -> None:
        """Stop listening, cut every open connection and wait for the pump threads."""
        self._stop.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            acceptor.join(timeout=5)  # after this no new pump starts
        with self._lock:
            doomed, self._open = list(self._open), set()
            pumps, self._pumps = self._pumps, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in pumps:
            thread.join(timeout=5)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by stop()
                return
            client.settimeout(None)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                upstream.close()
                continue
            with self._lock:
                if stop.is_set():
                    client.close()
                    upstream.close()
                    return
                self.connections += 1
                self._open.update((client, upstream))
                thread = threading.Thread(
                    target=self._pump, args=(client, upstream, stop), name="test-docker-proxy-pump", daemon=True
                )
                self._pumps.append(thread)
            thread.start()

    def _pump(self, a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
        peer = {a: b, b: a}
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ)
            sel.register(b, selectors.EVENT_READ)
            try:
                while not stop.is_set():
                    for key, _ in sel.select(timeout=0.2):
                        src: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = src.recv(65536)
                        if not data:
                            return
                        peer[src].sendall(data)
            except (OSError, ValueError):  # cut by stop() or by either side
                return
            finally:
                with self._lock:
                    self._open.discard(a)
                    self._open.discard(b)
                for sock in (a, b):
                    with contextlib.suppress(OSError):
                        sock.close()

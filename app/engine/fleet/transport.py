"""Engine ⇄ specialist transport: newline-delimited JSON over a Unix socket.

Chosen over HTTP on a loopback port because it needs no network in the container at all and
is the fastest option measured here (see docs/transport.md). One request is in flight per
connection; a :class:`SocketClient` keeps a small pool of idle connections per container.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from app.engine.core.errors import EngineError

__all__ = ["BadAnswer", "ConnectionLost", "SocketClient", "excerpt", "wait_for_socket"]

MAX_LINE = 64 * 1024 * 1024
EXCERPT_BYTES = 120


class ConnectionLost(EngineError):
    """The container closed the connection or died before answering."""


class BadAnswer(EngineError):
    """The container answered, but not with one JSON object on one line within the size cap.

    The message holds an escaped excerpt of what came, never the raw bytes: a misbehaving
    container cannot put control characters, markup or megabytes into the user's view.
    """


def excerpt(raw: bytes, limit: int = EXCERPT_BYTES) -> str:
    """The first ``limit`` bytes of ``raw``, quoted, with bad bytes and control characters escaped."""
    shown = raw[:limit].decode("utf-8", "backslashreplace")
    safe = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in shown)
    return f"'{safe}'" + ("…" if len(raw) > limit else "")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_answer(line: bytes, max_bytes: int) -> dict[str, Any]:
    """One wire answer from ``line`` (read with a cap of ``max_bytes``), or :class:`BadAnswer`."""
    if not line.endswith(b"\n"):
        if len(line) >= max_bytes:
            raise BadAnswer(
                f"the specialist's answer is larger than the {max_bytes:,} byte limit (starts: {excerpt(line)})"
            )
        raise BadAnswer(f"the specialist's answer was cut off after {len(line):,} bytes (got: {excerpt(line)})")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadAnswer(f"the specialist's answer is not UTF-8 (byte {exc.start}; got: {excerpt(line)})") from exc
    try:
        answer = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise BadAnswer(f"the specialist's answer is not valid JSON ({exc}; got: {excerpt(line)})") from exc
    if not isinstance(answer, dict):
        raise BadAnswer(
            f"the specialist's answer is a JSON {type(answer).__name__}, not an object (got: {excerpt(line)})"
        )
    return answer


MAX_SUN_PATH = 100  # sockaddr_un holds 108 bytes; longer paths go through /proc/self/fd


def _connect(sock: socket.socket, path: str) -> None:
    if len(path.encode()) <= MAX_SUN_PATH:
        sock.connect(path)
        return
    folder, name = os.path.split(path)
    fd = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    try:
        sock.connect(f"/proc/self/fd/{fd}/{name}")
    finally:
        os.close(fd)


class _Conn:
    def __init__(self, path: str, timeout: float) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            _connect(self.sock, path)
        except BaseException:
            self.sock.close()
            raise
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


class SocketClient:
    """Connection pool to one container's ``specialist.sock``; thread-safe."""

    def __init__(self, path: Path, *, max_idle: int = 8) -> None:
        self.path = str(path)
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()
        self._max_idle = max_idle
        self._closed = False

    def call(self, message: dict[str, Any], timeout_s: float, max_bytes: int = MAX_LINE) -> dict[str, Any]:
        """Send one message and wait for its answer.

        Raises ``TimeoutError``, :class:`ConnectionLost` (nothing came back) or
        :class:`BadAnswer` (something came back that is not one JSON object within
        ``max_bytes``; at most that much is ever read before giving up).
        """
        conn = self._take(timeout_s)
        ok = False
        try:
            conn.sock.settimeout(timeout_s)
            conn.sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")
            line = conn.reader.readline(max_bytes)
            if not line:
                raise ConnectionLost("the specialist closed the connection before answering")
            answer = parse_answer(line, max_bytes)
            ok = True
            return answer
        except TimeoutError as exc:
            raise TimeoutError(f"no answer from the specialist within {timeout_s:g} s") from exc
        except (ConnectionError, BrokenPipeError, OSError) as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise ConnectionLost(f"connection to the specialist failed: {exc}") from exc
        finally:
            if ok:
                self._give_back(conn)
            else:
                conn.close()

    def _take(self, timeout_s: float) -> _Conn:
        with self._lock:
            if self._closed:
                raise ConnectionLost("the container is going away")
            if self._idle:
                return self._idle.pop()
        try:
            return _Conn(self.path, timeout_s)
        except OSError as exc:
            raise ConnectionLost(f"the specialist's socket does not answer: {exc}") from exc

    def _give_back(self, conn: _Conn) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection; calls in flight finish or fail on their own."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def wait_for_socket(path: Path, timeout_s: float, alive: Any = None) -> bool:
    """Poll until ``path`` answers a ping; ``alive()`` returning False stops early."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    next_alive_check = time.monotonic() + 0.25
    client = SocketClient(path, max_idle=1)
    try:
        while time.monotonic() < deadline:
            if path.exists():
                try:
                    answer = client.call({"v": 1, "kind": "ping"}, timeout_s=2.0)
                    if answer.get("ok"):
                        return True
                except (ConnectionLost, TimeoutError):
                    pass
            if alive is not None and time.monotonic() >= next_alive_check:
                if not alive():
                    return False
                next_alive_check = time.monotonic() + 0.25
            time.sleep(delay)
            delay = min(delay * 1.3, 0.02)
        return False
    finally:
        client.close()

"""Follow one container's logs on a background thread and deliver lines on the GUI thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal

from app.engine.core.errors import EngineError
from app.engine.core.facade import Facade

__all__ = ["LogFollower"]


class LogFollower(QObject):
    """One reader thread; lines are batched and flushed to the GUI every 200 ms."""

    sig_lines_received = Signal(str, str)
    """New log text: (container name, lines joined by newlines)."""

    sig_follow_failed = Signal(str, str)
    """Following stopped with an error: (container name, message)."""

    def __init__(self, orch: Facade, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._orch = orch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._container = ""
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._flush = QTimer(self)
        self._flush.setInterval(200)
        self._flush.timeout.connect(self._on_flush)

    @property
    def container(self) -> str:
        """The container being followed, or ""."""
        return self._container if self._thread is not None else ""

    def start(self, container: str) -> None:
        """Follow ``container`` (stops any previous follow first)."""
        self.stop()
        self._stop = threading.Event()
        self._container = container
        stop = self._stop
        self._thread = threading.Thread(
            target=self._read, args=(container, stop), name=f"sb-logs-{container}", daemon=True
        )
        self._thread.start()
        self._flush.start()

    def _read(self, container: str, stop: threading.Event) -> None:
        try:
            for line in self._orch.follow_logs(container, stop):
                if stop.is_set():
                    break
                with self._lock:
                    self._pending.append(line.rstrip("\n"))
        except EngineError as exc:
            if not stop.is_set():
                self.sig_follow_failed.emit(container, str(exc))

    def _on_flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
        if lines:
            self.sig_lines_received.emit(self._container, "\n".join(lines))

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop following and wait for the reader thread (the engine closes the stream)."""
        self._stop.set()
        self._flush.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=timeout_s)
        with self._lock:
            self._pending = []

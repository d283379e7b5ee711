"""``run_op``: the one way the GUI runs blocking work.

The op body (``fn``) runs on a private :class:`QThreadPool` and never touches widgets. Its
result, or the error it raised, is delivered to ``on_success`` / ``on_failure`` **on the GUI
thread** through a queued signal. When ``fn`` returns a :class:`concurrent.futures.Future`
(the facade's blocking calls do), the op completes when that future does, without holding a
pool thread while it waits. Callbacks are dropped if ``parent`` was destroyed meanwhile, so a
closed dialog is never called back.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.engine.core.errors import EngineError

__all__ = ["describe_error", "pending_ops", "run_op", "shutdown_ops"]

log = logging.getLogger(__name__)

Success = Callable[[Any], None]
Failure = Callable[[str], None]


def describe_error(exc: BaseException) -> str:
    """A sentence for the user: engine errors say what is wrong; anything else is named."""
    if isinstance(exc, EngineError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"


class _Relay(QObject):
    """Lives on the GUI thread; worker threads emit ``sig_op_finished`` to reach it."""

    sig_op_finished = Signal(int, bool, object)
    """An op ended: (op id, succeeded, result value or error message)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[Success | None, Failure | None, QObject | None]] = {}
        self._ids = itertools.count(1)
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(8)
        self.pool.setExpiryTimeout(30_000)  # reuse threads across periodic refreshes
        self.sig_op_finished.connect(self._on_op_finished)

    def register(self, ok: Success | None, fail: Failure | None, parent: QObject | None) -> int:
        op_id = next(self._ids)
        with self._lock:
            self._pending[op_id] = (ok, fail, parent)
        return op_id

    def count(self) -> int:
        with self._lock:
            return len(self._pending)

    def _on_op_finished(self, op_id: int, ok: bool, value: object) -> None:
        with self._lock:
            entry = self._pending.pop(op_id, None)
        if entry is None:
            return
        on_success, on_failure, parent = entry
        if parent is not None and not shiboken6.isValid(parent):
            return
        callback = on_success if ok else on_failure
        if callback is None:
            if not ok:
                log.warning("operation failed: %s", value)
            return
        callback(value)


class _Job(QRunnable):
    def __init__(self, relay: _Relay, op_id: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._relay = relay
        self._op_id = op_id
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # delivered to the GUI as a message, never raised there
            if not isinstance(exc, EngineError):
                log.exception("operation raised")
            self._finish(False, describe_error(exc))
            return
        if isinstance(result, Future):
            result.add_done_callback(self._on_future)
        else:
            self._finish(True, result)

    def _on_future(self, future: Future[Any]) -> None:
        if future.cancelled():
            self._finish(False, "The operation was cancelled.")
            return
        exc = future.exception()
        if exc is not None:
            self._finish(False, describe_error(exc))
        else:
            self._finish(True, future.result())

    def _finish(self, ok: bool, value: object) -> None:
        if shiboken6.isValid(self._relay):
            self._relay.sig_op_finished.emit(self._op_id, ok, value)


_relay: _Relay | None = None


def _get_relay() -> _Relay:
    global _relay
    if _relay is None or not shiboken6.isValid(_relay):
        _relay = _Relay()
    return _relay


def run_op(
    fn: Callable[[], Any],
    on_success: Success | None = None,
    on_failure: Failure | None = None,
    parent: QObject | None = None,
) -> int:
    """Run ``fn`` off the GUI thread; call back on the GUI thread. Returns the op id.

    Must be called from the GUI thread (the relay is created there on first use).
    ``on_failure`` receives a user-facing message (see :func:`describe_error`).
    """
    relay = _get_relay()
    op_id = relay.register(on_success, on_failure, parent)
    relay.pool.start(_Job(relay, op_id, fn))
    return op_id


def pending_ops() -> int:
    """Ops started but not yet called back (for tests and the shutdown path)."""
    return 0 if _relay is None or not shiboken6.isValid(_relay) else _relay.count()


def shutdown_ops(timeout_ms: int = 5000) -> bool:
    """Wait for running op bodies to end so no pool thread outlives the window."""
    if _relay is None or not shiboken6.isValid(_relay):
        return True
    return bool(_relay.pool.waitForDone(timeout_ms))

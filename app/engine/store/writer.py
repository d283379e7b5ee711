"""One database thread with group commit.

Every piece of database work is a function ``fn(connection) -> T`` queued with
:meth:`Writer.submit`. The single writer thread takes everything queued (up to ``max_batch``
items), runs the items in order inside ONE transaction, each under its own SAVEPOINT, commits
once and only then resolves the futures. So:

* order is preserved (a fire-and-forget update is applied before a later wait-for-it call);
* an item that raises rolls back only its own SAVEPOINT; its future gets the error and the
  rest of the batch still commits;
* a failed COMMIT (disk full, connection lost) fails every future in the batch, because none
  of their work is durable.

Serializing on one thread avoids SQLite's writer-lock contention entirely, and one commit per
batch instead of per call is what makes thousands of small writes per second cheap.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    SQLAlchemyError,
)

from app.engine.core.errors import BadInput, DatabaseUnavailable, EngineError

__all__ = ["Writer", "wrap_db_error"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def wrap_db_error(exc: BaseException, where: str) -> BaseException:
    """Turn a SQLAlchemy error into an engine error with a clear message; pass others through."""
    if isinstance(exc, EngineError) or not isinstance(exc, SQLAlchemyError):
        return exc
    if isinstance(exc, IntegrityError | DataError):
        return BadInput(f"the database refused the change: {_first_line(exc)}")
    if isinstance(exc, OperationalError | InterfaceError | InternalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return DatabaseUnavailable(f"{where}: {_first_line(exc)}")
    return EngineError(f"database error on {where}: {_first_line(exc)}")


@dataclass
class _Item:
    fn: Callable[[Connection], Any]
    future: Future[Any]


_STOP = object()


class Writer:
    """The single database thread; see the module docstring for the batching rules."""

    def __init__(self, engine: Engine, where: str, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._where = where
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self.batches = 0  # statistics, read by benchmarks
        self.items = 0
        self._thread = threading.Thread(target=self._loop, name="switchboard-store", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[Connection], T]) -> Future[T]:
        """Queue ``fn``; its future resolves after the batch holding it has committed."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise DatabaseUnavailable("the store is closed")
            if not self._thread.is_alive():
                raise DatabaseUnavailable("the store's database thread has stopped")
            self._queue.put(_Item(fn, future))
        return future

    def close(self, timeout: float | None = 30.0) -> None:
        """Run everything already queued, then stop the thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("store writer did not stop within %s s", timeout)

    @property
    def thread(self) -> threading.Thread:
        """The writer thread (tests check it stops)."""
        return self._thread

    def _take_batch(self) -> tuple[list[_Item], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch: list[_Item] = [first]  # type: ignore[list-item]
        stop = False
        while len(batch) < self._max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is _STOP:
                stop = True
                break
            batch.append(nxt)  # type: ignore[arg-type]
        return batch, stop

    def _loop(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take_batch()
            if batch:
                self._run_batch(batch)

    def _run_batch(self, batch: list[_Item]) -> None:
        live = [item for item in batch if item.future.set_running_or_notify_cancel()]
        if not live:
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._engine.connect() as conn:
                trans = conn.begin()
                cursor = conn.connection.cursor()
                try:
                    for item in live:
                        outcomes.append(self._run_item(conn, cursor, item))
                    cursor.close()
                    trans.commit()
                except BaseException:
                    if trans.is_active:
                        trans.rollback()
                    raise
        except BaseException as exc:  # the batch as a whole failed: nothing is durable.
            # BaseException too: the thread must outlive anything an item throws, or every
            # later caller would wait forever.
            error = wrap_db_error(exc, f"writing to {self._where}")
            if not isinstance(error, DatabaseUnavailable):
                error = DatabaseUnavailable(f"writing to {self._where} failed: {_first_line(exc)}")
            log.error("store batch of %d failed: %s", len(live), error)
            for item in live:
                item.future.set_exception(error)
            return
        self.batches += 1
        self.items += len(live)
        for item, (ok, value) in zip(live, outcomes, strict=True):
            if ok:
                item.future.set_result(value)
            else:
                item.future.set_exception(value)

    def _run_item(self, conn: Connection, cursor: Any, item: _Item) -> tuple[bool, Any]:
        # Plain SQL savepoints on the DBAPI cursor: SQLAlchemy's begin_nested() costs more
        # than the work of a typical item (it compiles the SAVEPOINT clause every time).
        cursor.execute("SAVEPOINT sb_item")
        try:
            value = item.fn(conn)
        except Exception as exc:
            # If the connection died this raises too; then the whole batch is lost and
            # _run_batch reports it.
            cursor.execute("ROLLBACK TO SAVEPOINT sb_item")
            cursor.execute("RELEASE SAVEPOINT sb_item")
            return False, wrap_db_error(exc, self._where)
        cursor.execute("RELEASE SAVEPOINT sb_item")
        return True, value

"""One primary engine per data dir: only it reconciles tasks and reaps idle containers.

A CLI command run while the GUI is open gets a secondary engine that uses the same
containers and store but never re-queues the GUI's running tasks as if they were lost.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

__all__ = ["InstanceLock"]


class InstanceLock:
    """An advisory ``flock`` on ``<data_dir>/engine.lock``; released when the process ends."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "engine.lock"
        self._fh: IO[str] | None = None

    def try_acquire(self) -> bool:
        """Take the lock if free; True when this engine is the primary."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the engine's life)
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return True

    def holder(self) -> int | None:
        """The pid written by the engine that holds the lock (None when unknown or unreadable).

        A pid left in the file by a process that died does not block anyone: the kernel drops
        a dead process's ``flock``, so :meth:`try_acquire` succeeds and rewrites the file.
        """
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def describe_holder(self) -> str:
        """A sentence for a secondary engine: who runs the engine on this data folder."""
        pid = self.holder()
        who = f"another Switchboard process (pid {pid})" if pid else "another Switchboard process"
        return (
            f"{who} runs the engine on {self.path.parent}; this one shares its containers and "
            "database but leaves recovery and clean-up to it"
        )

    def release(self) -> None:
        """Give the lock up."""
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

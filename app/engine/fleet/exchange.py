"""Per-container exchange folders on the host: the socket and the read-only inputs.

Outputs do not come through here: ``/output`` is a size-capped tmpfs in the container and the
engine copies files out through the Docker API (``app.engine.fleet.outputs``).

Layout and mounts are documented in docs/ARCHITECTURE.md ("Containers"). The container user
is uid 10001; the engine chowns the writable folders to it when it runs as root, and falls
back to world-writable folders (mode 1777) otherwise.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONTAINER_UID", "Exchange"]

CONTAINER_UID = 10001


def _own(path: Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.chown(path, CONTAINER_UID, CONTAINER_UID)
        os.chmod(path, mode)
    except PermissionError:
        os.chmod(path, 0o1777)


@dataclass(frozen=True)
class Exchange:
    """The host folders of one container."""

    root: Path

    @property
    def sock_dir(self) -> Path:
        """Mounted at ``/run/switchboard``."""
        return self.root / "sock"

    @property
    def socket(self) -> Path:
        """The specialist's Unix socket on the host side."""
        return self.sock_dir / "specialist.sock"

    @property
    def in_dir(self) -> Path:
        """Mounted read-only at ``/input``."""
        return self.root / "in"

    def create(self) -> None:
        """Create the folders with the ownership the container needs."""
        self.root.mkdir(parents=True, exist_ok=True)
        _own(self.sock_dir, 0o700)
        self.in_dir.mkdir(exist_ok=True)
        os.chmod(self.in_dir, 0o755)

    def task_in(self, task_id: str) -> Path:
        """Host folder holding one task's inputs (``/input/<task_id>`` inside)."""
        return self.in_dir / task_id

    def prepare_task(self, task_id: str) -> None:
        """Create the task's input folder (the container creates its output folder itself)."""
        path = self.task_in(task_id)
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o755)

    def clear_task(self, task_id: str, *, had_inputs: bool) -> None:
        """Remove a task's input folder (the stored copies are kept in the blob store)."""
        if had_inputs:
            shutil.rmtree(self.task_in(task_id), ignore_errors=True)

    def sweep(self) -> int:
        """Remove task input folders an engine that died left behind; returns a count.

        Only safe while no task of this container runs (the engine calls it on reattach).
        """
        removed = 0
        try:
            entries = list(os.scandir(self.in_dir))
        except OSError:
            return 0
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        return removed

    def remove(self) -> None:
        """Remove every folder of this container."""
        shutil.rmtree(self.root, ignore_errors=True)

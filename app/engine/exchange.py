"""Per-container exchange folders on the host: socket, read-only inputs, outputs.

Layout and mounts are documented in docs/ARCHITECTURE.md ("Containers"). The container user
is uid 10001; the engine chowns the writable folders to it when it runs as root, and falls
back to world-writable folders (mode 1777) otherwise.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from app.engine.errors import EngineError

__all__ = ["CONTAINER_UID", "Exchange", "safe_output_files"]

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

    @property
    def out_dir(self) -> Path:
        """Mounted at ``/output``."""
        return self.root / "out"

    def create(self) -> None:
        """Create the folders with the ownership the container needs."""
        self.root.mkdir(parents=True, exist_ok=True)
        _own(self.sock_dir, 0o700)
        self.in_dir.mkdir(exist_ok=True)
        os.chmod(self.in_dir, 0o755)
        _own(self.out_dir, 0o700)

    def task_in(self, task_id: str) -> Path:
        """Host folder holding one task's inputs (``/input/<task_id>`` inside)."""
        return self.in_dir / task_id

    def task_out(self, task_id: str) -> Path:
        """Host folder for one task's outputs (``/output/<task_id>`` inside)."""
        return self.out_dir / task_id

    def prepare_task(self, task_id: str) -> None:
        """Create the task's input folder (the container creates its output folder itself)."""
        path = self.task_in(task_id)
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o755)

    def clear_task(self, task_id: str, *, had_inputs: bool, had_outputs: bool) -> None:
        """Remove a task's folders (the stored copies are kept in the blob store).

        An empty output folder is left for :meth:`sweep` (removing it costs a fraction of a
        millisecond on the task's critical path for nothing).
        """
        if had_inputs:
            shutil.rmtree(self.task_in(task_id), ignore_errors=True)
        if had_outputs:
            shutil.rmtree(self.task_out(task_id), ignore_errors=True)

    def sweep(self, older_than_s: float = 60.0) -> int:
        """Remove task folders left behind (empty outputs, interrupted tasks); returns a count."""
        import time

        cutoff = time.time() - older_than_s
        removed = 0
        for parent in (self.in_dir, self.out_dir):
            try:
                entries = list(os.scandir(parent))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        shutil.rmtree(entry.path, ignore_errors=True)
                        removed += 1
                except OSError:
                    continue
        return removed

    def remove(self) -> None:
        """Remove every folder of this container."""
        shutil.rmtree(self.root, ignore_errors=True)


def safe_output_files(out_dir: Path, max_files: int = 200) -> list[Path]:
    """Regular files under ``out_dir``; symlinks and anything escaping the folder are ignored.

    The container controls this folder, so a symlink pointing at a host file must never be
    followed when outputs are collected.
    """
    if not out_dir.is_dir():
        return []
    base = out_dir.resolve()
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
        for name in filenames:
            path = Path(dirpath) / name
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if base not in path.resolve().parents:
                raise EngineError(f"output file {name!r} escapes the task folder")
            found.append(path)
            if len(found) >= max_files:
                return found
    return found

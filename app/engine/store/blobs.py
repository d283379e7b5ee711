"""Content-addressed file store for task inputs and artifacts.

A blob lives at ``root/ab/cdef...`` (the first two hex digits of its sha256 as a folder, the
other 62 as the file name). Files are written to a temporary name in ``root/tmp`` (same file
system), fsynced, made read-only (0o444) and renamed into place, so a reader never sees half a
file and identical content is stored once. Symlinks and special files are refused: a task input
must be exactly the bytes the user chose, and opening a FIFO would hang the engine.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.engine.core.errors import BadInput

__all__ = ["BlobRef", "BlobStore"]

_CHUNK = 1024 * 1024
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_READ_ONLY = 0o444


@dataclass(frozen=True)
class BlobRef:
    """A stored blob: its sha256 (lower-case hex) and size in bytes."""

    sha256: str
    bytes: int


class BlobStore:
    """Content-addressed files under ``root`` (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"

    def path(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists)."""
        if not _SHA_RE.match(sha256):
            raise BadInput(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path(sha256).is_file()

    def put_file(self, path: Path | str, *, max_bytes: int | None = None) -> BlobRef:
        """Store a regular file's content; symlinks, folders and devices raise :class:`BadInput`."""
        source = Path(path)
        try:
            info = os.lstat(source)
        except FileNotFoundError as exc:
            raise BadInput(f"{source}: no such file") from exc
        except OSError as exc:
            raise BadInput(f"{source}: cannot read: {exc.strerror}") from exc
        if stat.S_ISLNK(info.st_mode):
            raise BadInput(f"{source}: is a symbolic link; pass the file it points to")
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{source}: is not a regular file")
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(source, flags)
        except OSError as exc:
            raise BadInput(f"{source}: cannot open: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as handle:
            # Re-check on the open descriptor: the path may have been swapped since lstat.
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise BadInput(f"{source}: is not a regular file")
            return self._store(handle, str(source), max_bytes)

    def put_bytes(self, data: bytes) -> BlobRef:
        """Store ``data``."""
        digest = hashlib.sha256(data).hexdigest()
        if self.exists(digest):
            return BlobRef(digest, len(data))
        return self._store(io.BytesIO(data), "data", None)

    def _store(self, handle: BinaryIO, label: str, max_bytes: int | None) -> BlobRef:
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(tmp_name)
        hasher = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := handle.read(_CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise BadInput(f"{label}: larger than the limit of {max_bytes} bytes")
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self._commit(tmp, hasher.hexdigest(), size)

    def _commit(self, tmp: Path, digest: str, size: int) -> BlobRef:
        final = self.path(digest)
        try:
            if final.is_file():  # dedupe: identical content is already there
                return BlobRef(digest, size)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, _READ_ONLY)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return BlobRef(digest, size)

    def link_into(self, sha256: str, dest: Path | str) -> Path:
        """Make the blob appear at ``dest`` (hard link; a copy across file systems).

        An existing ``dest`` is replaced atomically, so a retried task can link again.
        """
        source = self.path(sha256)
        if not source.is_file():
            raise BadInput(f"blob {sha256} is not stored")
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{os.getpid()}.{id(target):x}.tmp"
        tmp.unlink(missing_ok=True)
        try:
            try:
                os.link(source, tmp)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                shutil.copyfile(source, tmp)
                os.chmod(tmp, _READ_ONLY)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

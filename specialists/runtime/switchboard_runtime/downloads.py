"""A task's output files sent back over the connection (``get_outputs``), for a replica on another node.

On one host the engine copies ``/output/<task>`` out with ``tar`` run through the Docker API.
A replica on another Swarm node may have no engine the engine can reach, so the files come
back on the wire connection, the mirror of ``uploads``:

1. ``{"v": 1, "kind": "get_outputs", "id": <task>, "max_bytes": N}``
2. the server lists the regular files under ``$SWITCHBOARD_OUTPUT_ROOT/<task>`` (``/output``)
   and answers one line, ``{"ok": true, "kind": "outputs", "files": [{"name", "bytes",
   "sha256"}...], "bytes": total}``, or a refusal (a task id that is not a plain name, a task
   folder that is a symlink, ``total`` above ``N``) after which nothing follows;
3. then exactly ``total`` bytes: the files' contents in the listed order.

Symlinks are never followed: the walk opens every folder and file relative to its parent's
descriptor with ``O_NOFOLLOW``, so a link (to ``/etc/passwd``, or a folder swapped for a link
while the walk runs) is skipped rather than read. Each file is hashed and sent from the same
open descriptor; if it changes in between, exactly the listed size is still sent (cut or
padded with zeros), so the connection stays in step and the engine's digest check fails.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MAX_FILES", "Listing", "list_outputs", "output_root", "send_outputs"]

MAX_FILES = 200  # as many as the engine keeps of a tar (``fleet/outputs.py``); the rest are left
MAX_NAME = 1024  # a longer relative path is skipped: the header line stays bounded
MAX_DEPTH = 32
CHUNK = 1 << 16
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def output_root() -> Path:
    """Where tasks write (``$SWITCHBOARD_OUTPUT_ROOT``, default ``/output``), as ``cleanup`` uses it."""
    return Path(os.environ.get("SWITCHBOARD_OUTPUT_ROOT", "/output"))


@dataclass
class Listing:
    """The files of one task folder, open for sending; ``close`` releases them."""

    files: list[dict[str, Any]]
    fds: list[int]
    skipped: int = 0

    @property
    def total(self) -> int:
        """Bytes that follow the header."""
        return sum(int(f["bytes"]) for f in self.files)

    def close(self) -> None:
        """Close every file descriptor."""
        for fd in self.fds:
            with suppress(OSError):
                os.close(fd)
        self.fds = []


def _plain(task_id: object) -> bool:
    return (
        isinstance(task_id, str)
        and 0 < len(task_id) <= 255
        and task_id not in (".", "..")
        and "/" not in task_id
        and "\x00" not in task_id
    )


def list_outputs(request: dict[str, Any]) -> tuple[Listing | None, str, str]:
    """Open the task's output files; ``(listing, error kind, problem)``, the listing ``None`` when refused.

    A missing folder is an empty listing (the task wrote nothing).
    """
    task_id = request.get("id")
    cap = request.get("max_bytes")
    if not _plain(task_id):
        return None, "bad_input", "get_outputs needs a plain task id."
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
        return None, "bad_input", "get_outputs needs max_bytes, the most bytes the engine takes."
    root = output_root()
    try:
        root_fd = os.open(root, _DIR_FLAGS)
    except OSError:
        return Listing([], []), "", ""
    listing = Listing([], [])
    try:
        try:
            folder = os.open(str(task_id), _DIR_FLAGS, dir_fd=root_fd)
        except FileNotFoundError:
            return listing, "", ""
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                return None, "bad_input", f"The output folder of {task_id} is not a folder of its own (a link?)."
            return None, "internal", f"Cannot open the outputs of {task_id}: {exc.strerror or exc}."
        try:
            _walk(folder, "", listing, 0)
        except BaseException:
            listing.close()
            raise
        finally:
            os.close(folder)
    finally:
        os.close(root_fd)
    if listing.total > cap:
        listing.close()
        return (
            None,
            "limit",
            f"The outputs of {task_id} are {listing.total:,} bytes in {len(listing.files)} files; "
            f"at most {cap:,} are copied out.",
        )
    return listing, "", ""


def _walk(folder: int, prefix: str, listing: Listing, depth: int) -> None:
    """Add the regular files under the open ``folder`` (sorted, depth first); links are skipped."""
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries)
    for name in names:
        rel = f"{prefix}{name}"
        if len(listing.files) >= MAX_FILES or len(rel) > MAX_NAME:
            listing.skipped += 1
            continue
        try:
            info = os.lstat(name, dir_fd=folder)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            if depth >= MAX_DEPTH:
                continue
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=folder)
            except OSError:  # swapped for a link since lstat
                continue
            try:
                _walk(child, f"{rel}/", listing, depth + 1)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            _add_file(folder, name, rel, listing)


def _add_file(folder: int, name: str, rel: str, listing: Listing) -> None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=folder)
    except OSError:  # a link (ELOOP) or gone
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return
        digest = hashlib.sha256()
        size = 0
        while data := os.pread(fd, CHUNK, size):
            digest.update(data)
            size += len(data)
    except OSError:
        os.close(fd)
        return
    listing.fds.append(fd)
    listing.files.append({"name": rel, "bytes": size, "sha256": digest.hexdigest()})


def send_outputs(send: Any, listing: Listing) -> None:
    """Send each listed file's bytes with ``send`` (``socket.sendall``), exactly its listed size."""
    for item, fd in zip(listing.files, listing.fds, strict=True):
        left = int(item["bytes"])
        offset = 0
        while left > 0:
            try:
                data = os.pread(fd, min(CHUNK, left), offset)
            except OSError:
                data = b""
            if not data:  # the file shrank since it was hashed: pad, the digest will not match
                data = bytes(min(CHUNK, left))
            send(data)
            offset += len(data)
            left -= len(data)

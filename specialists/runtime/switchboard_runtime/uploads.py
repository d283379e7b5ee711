"""Inputs that arrive over the connection (``put``), for a replica with no shared input folder.

On one host the engine links a task's inputs into the bind-mounted ``/input``. A replica on
another Swarm node has no such folder, so the engine sends each input on the wire connection
as a streamed upload into ``$SWITCHBOARD_INPUT_ROOT`` (on Swarm ``/tmp/switchboard/input``, in
the replica's ``/tmp`` tmpfs), and an input may be far larger than a request line (8 MiB):

1. ``{"v": 1, "kind": "put", "id": <task>, "name": <file>, "bytes": N, "sha256": <hex>}``
2. the server checks the header (plain names, ``N`` within ``$SWITCHBOARD_MAX_INPUT_BYTES``)
   and answers ``{"ok": true, "kind": "ready"}`` or an error (nothing else is read then);
3. the engine sends exactly ``N`` bytes; the server writes them to ``<root>/<task>/<file>``
   (a temporary name first), checks the digest and answers ``stored`` with that path (which
   the task request then names) or an error.

A write that fails (the tmpfs is full) still reads all ``N`` bytes, so the connection stays in
step and can carry the next request. ``cleanup`` with ``"inputs": true`` removes the folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["MAX_INPUT_BYTES", "check_put", "input_root", "receive", "remove_inputs"]

MAX_INPUT_BYTES = 200 * 1024 * 1024
CHUNK = 1 << 16
_HEX = re.compile(r"^[0-9a-f]{64}$")


def input_root() -> Path:
    """Where uploads go (``$SWITCHBOARD_INPUT_ROOT``, default ``/input``)."""
    return Path(os.environ.get("SWITCHBOARD_INPUT_ROOT", "/input"))


def _cap() -> int:
    try:
        return int(os.environ.get("SWITCHBOARD_MAX_INPUT_BYTES", MAX_INPUT_BYTES))
    except ValueError:
        return MAX_INPUT_BYTES


def _plain(name: object) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and name not in (".", "..")
        and not name.startswith(".")
        and "/" not in name
        and "\x00" not in name
    )


def check_put(request: dict[str, Any]) -> str:
    """Why the upload ``request`` is refused before its bytes are read ('' when it is acceptable)."""
    size = request.get("bytes")
    if not _plain(request.get("id")):
        return "put needs a plain task id."
    if not _plain(request.get("name")):
        return "put needs a plain file name (no folders, not hidden)."
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "put needs the size in bytes."
    if size > _cap():
        return f"The input is {size:,} bytes; this replica takes at most {_cap():,}."
    if not isinstance(request.get("sha256"), str) or not _HEX.match(request["sha256"]):
        return "put needs the file's sha256 (64 lower-case hex digits)."
    return ""


def receive(request: dict[str, Any], reader: BinaryIO) -> tuple[str, str]:
    """Read the upload's bytes from ``reader`` into place; ``(path, problem)`` ('' problem when stored).

    Raises ``EOFError`` when the connection ends before all the bytes came (the caller closes it).
    """
    size: int = request["bytes"]
    folder = input_root() / request["id"]
    target = folder / request["name"]
    part = folder / f".{request['name']}.part"
    digest = hashlib.sha256()
    problem = ""
    out: BinaryIO | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        out = open(part, "wb")  # noqa: SIM115 - closed below, after the body is read whatever happens
    except OSError as exc:
        problem = f"Cannot store the input: {exc.strerror or exc}."
    left = size
    try:
        while left > 0:
            data = reader.read(min(CHUNK, left))
            if not data:
                raise EOFError(f"the upload ended {left:,} bytes short")
            left -= len(data)
            digest.update(data)
            if out is not None and not problem:
                try:
                    out.write(data)
                except OSError as exc:  # keep reading: the stream must stay in step
                    problem = f"Cannot store the input: {exc.strerror or exc}."
        if out is not None:
            try:
                out.close()
            except OSError as exc:
                problem = problem or f"Cannot store the input: {exc.strerror or exc}."
            out = None
        if not problem and digest.hexdigest() != request["sha256"]:
            problem = "The input's bytes do not match its sha256."
        if not problem:
            os.replace(part, target)
            return str(target), ""
    finally:
        if out is not None:
            out.close()
        if part.exists():
            part.unlink()
    return "", problem


def remove_inputs(task_id: str) -> None:
    """Remove the uploads of ``task_id`` (nothing when there are none)."""
    if _plain(task_id):
        shutil.rmtree(input_root() / task_id, ignore_errors=True)

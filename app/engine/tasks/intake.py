"""Checks on a task's text and files before anything is stored or a container is touched."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput
from app.engine.core.specs import SpecialistSpec

__all__ = ["check_files", "check_text", "check_types"]

MAX_TEXT_CHARS = 100_000


def check_text(text: str, *, has_files: bool = False) -> str:
    """The stripped task text; ``BadInput`` when empty or absurdly long."""
    stripped = (text or "").strip()
    if not stripped:
        raise BadInput("the task text is empty: say what the specialist should do" + (" with the files" if has_files else ""))
    if len(stripped) > MAX_TEXT_CHARS:
        raise BadInput(f"the task text is {len(stripped):,} characters; the limit is {MAX_TEXT_CHARS:,} (attach long content as a file)")
    if "\x00" in stripped:
        raise BadInput("the task text contains a NUL character")
    return stripped


def check_files(paths: Sequence[Path | str], settings: Settings) -> list[Path]:
    """Validated input paths: exist, regular, not symlinks, not empty dirs, within size limits."""
    files = [Path(p) for p in paths]
    if len(files) > settings.max_inputs_per_task:
        raise BadInput(f"{len(files)} files given; a task takes at most {settings.max_inputs_per_task}")
    seen: set[str] = set()
    for path in files:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            raise BadInput(f"input file {path} does not exist") from None
        except OSError as exc:
            raise BadInput(f"input file {path} cannot be read: {exc.strerror}") from None
        if stat.S_ISLNK(st.st_mode):
            raise BadInput(f"input file {path} is a symbolic link; give the real file instead")
        if stat.S_ISDIR(st.st_mode):
            raise BadInput(f"{path} is a folder; give files (or a .zip of the folder)")
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"{path} is not a regular file")
        if st.st_size == 0:
            raise BadInput(f"input file {path} is empty (0 bytes)")
        if st.st_size > settings.max_input_bytes:
            raise BadInput(
                f"input file {path} is {st.st_size / 1e6:.1f} MB; the limit is {settings.max_input_bytes / 1e6:.1f} MB"
            )
        if not os.access(path, os.R_OK):
            raise BadInput(f"input file {path} is not readable")
        if path.name in seen:
            raise BadInput(f"two input files are named {path.name!r}; rename one")
        seen.add(path.name)
    return files


def check_types(files: Sequence[Path], spec: SpecialistSpec) -> None:
    """``BadInput`` naming the file when ``spec`` does not accept its type."""
    for path in files:
        if not spec.accepts(path.name):
            accepted = ", ".join(spec.accepted_inputs) or "no files"
            raise BadInput(f"{spec.id} does not accept {path.name!r}; it takes {accepted}")

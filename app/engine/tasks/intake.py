"""Checks on a task's text and files before anything is stored or a container is touched."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput
from app.engine.core.specs import SpecialistSpec

__all__ = ["PICKLE_SUFFIXES", "check_files", "check_text", "check_types", "sniff_kind"]

MAX_TEXT_CHARS = 100_000
MAX_NAME_CHARS = 200

#: Formats whose loading runs code stored in the file (Python pickles, joblib, torch).
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".npy", ".npz", ".sav")

# Leading bytes of formats that are never text, and what to call them in a message.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"PK\x03\x04", "a zip archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"\x93NUMPY", "a NumPy array file"),
)
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".py", ".sql", ".html", ".htm", ".md", ".xml")
# Binary formats and the description their first bytes must match.
_BINARY_SUFFIXES = {
    ".sqlite": "a SQLite database",
    ".sqlite3": "a SQLite database",
    ".db": "a SQLite database",
    ".zip": "a zip archive (or an Office document)",
    ".xlsx": "a zip archive (or an Office document)",
    ".xlsm": "a zip archive (or an Office document)",
    ".parquet": "a Parquet file",
}


def check_text(text: str, *, has_files: bool = False) -> str:
    """The stripped task text; ``BadInput`` when empty or absurdly long."""
    stripped = (text or "").strip()
    if not stripped:
        raise BadInput(
            "the task text is empty: say what the specialist should do" + (" with the files" if has_files else "")
        )
    if len(stripped) > MAX_TEXT_CHARS:
        raise BadInput(
            f"the task text is {len(stripped):,} characters; the limit is {MAX_TEXT_CHARS:,} "
            "(attach long content as a file)"
        )
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
        _check_name(path)
        _check_content(path)
        seen.add(path.name)
    return files


def _check_name(path: Path) -> None:
    """Refuse file names the containers could misread: control characters, absurd lengths."""
    name = path.name
    if name in ("", ".", ".."):
        raise BadInput(f"input file {path} has no usable name")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadInput(f"input file name {name!r} contains control characters (a newline or tab); rename it")
    if len(name) > MAX_NAME_CHARS:
        raise BadInput(f"input file name {name[:40]!r}... is {len(name)} characters; the limit is {MAX_NAME_CHARS}")


def sniff_kind(head: bytes) -> str | None:
    """What a file's first bytes say it is (``"a PNG image"``), or None when they say nothing.

    Python pickles (protocol 2 and later start with ``0x80`` and the protocol number) are
    recognised too, because loading one runs code.
    """
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"MZ") and b"This program cannot be run in DOS mode" in head[:200]:
        return "a Windows executable"
    if head.startswith(b"PAR1") and b"\x00" in head[:64]:
        return "a Parquet file"
    if len(head) > 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a Python pickle"
    return None


def _check_content(path: Path) -> None:
    """``BadInput`` when the content contradicts the extension (a .csv that is really a PNG)."""
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise BadInput(
            f"input file {path.name!r} is a Python pickle ({suffix}): loading one runs any code it holds, so "
            "Switchboard never loads pickles from outside its own model store. Send the data (CSV) and train "
            "the model here, or export it to a format without code (ONNX, JSON)"
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError as exc:
        raise BadInput(f"input file {path} cannot be read: {exc.strerror}") from None
    kind = sniff_kind(head)
    if suffix in _TEXT_SUFFIXES and kind is not None:
        raise BadInput(
            f"input file {path.name!r} is named like text ({suffix}) but its content is {kind}; "
            "check that you picked the right file"
        )
    expected = _BINARY_SUFFIXES.get(suffix)
    if expected is not None and kind != expected:
        found = f"its content is {kind}" if kind else "its first bytes are not that format's signature"
        raise BadInput(f"input file {path.name!r} should be {expected} ({suffix}) but {found}")


def check_types(files: Sequence[Path], spec: SpecialistSpec) -> None:
    """``BadInput`` naming the file when ``spec`` does not accept its type."""
    for path in files:
        if not spec.accepts(path.name):
            accepted = ", ".join(spec.accepted_inputs) or "no files"
            raise BadInput(f"{spec.id} does not accept {path.name!r}; it takes {accepted}")

"""Input-file checks shared by every specialist.

Each function raises ``SpecialistError("bad_input", ...)`` with a message that names the file
(and the row/column when it can), so users see what to fix instead of a traceback.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from switchboard_runtime.api import InputFile, SpecialistError

__all__ = [
    "MAX_COLUMNS",
    "CsvData",
    "check_archive",
    "check_input",
    "detect_encoding",
    "find_input",
    "mixed_encoding",
    "open_zip",
    "read_csv",
    "read_text",
    "safe_extract_zip",
    "sniff_delimiter",
]

DELIMITERS = (",", ";", "\t", "|")
MAX_TEXT_BYTES = 64 * 1024 * 1024
MAX_COLUMNS = 10_000


def _bad(message: str) -> SpecialistError:
    return SpecialistError("bad_input", message)


def check_input(item: InputFile | Path | str, allowed: Iterable[str] | None = None) -> Path:
    """Return the path of an input that is a real, readable, regular file.

    Symlinks are rejected outright: an input must not point the handler at another file of
    the container. ``allowed`` lists accepted lower-case extensions (``[".csv", ".txt"]``).
    """
    path = item.path if isinstance(item, InputFile) else Path(item)
    name = item.name if isinstance(item, InputFile) else path.name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise _bad(f"Input file {name!r} was not found.") from None
    except OSError as exc:
        raise _bad(f"Input file {name!r} cannot be read: {exc.strerror}.") from None
    if stat.S_ISLNK(info.st_mode):
        raise _bad(f"Input file {name!r} is a symbolic link; send the file itself.")
    if not stat.S_ISREG(info.st_mode):
        raise _bad(f"Input {name!r} is not a regular file.")
    if allowed is not None:
        exts = {e.lower() for e in allowed}
        if path.suffix.lower() not in exts:
            raise _bad(
                f"Input file {name!r} has type {path.suffix or '(none)'!r}; accepted: {', '.join(sorted(exts))}."
            )
    if not os.access(path, os.R_OK):
        raise _bad(f"Input file {name!r} is not readable.")
    return path


def find_input(inputs: list[InputFile], *extensions: str) -> InputFile | None:
    """The first input whose name ends with one of ``extensions`` (case-insensitive)."""
    exts = tuple(e.lower() for e in extensions)
    for item in inputs:
        if not exts or item.name.lower().endswith(exts):
            return item
    return None


def detect_encoding(data: bytes) -> str:
    """Return ``utf-8-sig``, ``utf-16``, ``utf-8`` or ``latin-1`` for ``data``.

    Latin-1 is the fallback because it decodes any byte string; text that is valid UTF-8 is
    almost never meant as Latin-1, so UTF-8 is tried first.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=True)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def mixed_encoding(data: bytes) -> tuple[int, int] | None:
    """``(line, offset)`` of the first non-UTF-8 byte when ``data`` also holds valid UTF-8 text.

    A file that is mostly UTF-8 (it has multi-byte sequences that decode) but also holds bytes
    that are not (a Latin-1 ``\xe9`` pasted in) has no single right decoding: reading it as
    Latin-1 would silently garble every UTF-8 character. None for pure ASCII/UTF-8/Latin-1.
    """
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    head = data[:first_bad]
    rest = data[first_bad:]
    has_utf8 = any(b >= 0x80 for b in head) or _has_utf8_sequence(rest)
    if not has_utf8:
        return None
    return data.count(b"\n", 0, first_bad) + 1, first_bad


def _has_utf8_sequence(data: bytes) -> bool:
    """True when ``data`` holds at least one multi-byte UTF-8 character that decodes."""
    text = data.decode("utf-8", errors="replace")
    return any(ord(c) >= 0x80 and c != "\ufffd" for c in text)


def read_text(item: InputFile | Path | str, max_bytes: int = MAX_TEXT_BYTES) -> tuple[str, str]:
    """Read a text input, returning ``(text, encoding)``; refuses binary and oversized files."""
    path = check_input(item)
    name = item.name if isinstance(item, InputFile) else path.name
    size = path.stat().st_size
    if size > max_bytes:
        raise _bad(f"Input file {name!r} is {size} bytes; the limit is {max_bytes} bytes.")
    data = path.read_bytes()
    encoding = detect_encoding(data)
    if encoding != "utf-16":
        nul = data.find(b"\x00")
        if nul >= 0:
            line = data.count(b"\n", 0, nul) + 1
            raise _bad(
                f"Input file {name!r} contains a NUL byte on line {line} (offset {nul}): it is "
                "binary (or UTF-16 without a byte-order mark), not text."
            )
    if encoding == "latin-1" and (where := mixed_encoding(data)) is not None:
        line, offset = where
        raise _bad(
            f"Input file {name!r} mixes text encodings: it holds UTF-8 text, but line {line} "
            f"(offset {offset}) has byte 0x{data[offset]:02x}, which is not UTF-8. Save the "
            "file in one encoding (UTF-8) and send it again."
        )
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise _bad(f"Input file {name!r} is not valid {encoding} text (byte offset {exc.start}).") from None


def sniff_delimiter(sample: str) -> str:
    """Pick the delimiter that splits the first lines into the most, and most consistent, fields.

    Quoted fields are skipped when counting, so ``"1,5";"2,5"`` is seen as ``;``-delimited.
    """
    lines = [ln for ln in sample.splitlines()[:30] if ln.strip()]
    if not lines:
        return ","
    best, best_score = ",", (-1, 0)
    for delim in DELIMITERS:
        counts = [_count_outside_quotes(ln, delim) for ln in lines]
        if counts[0] == 0:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


def _count_outside_quotes(line: str, delim: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delim and not quoted:
            count += 1
    return count


class CsvData:
    """A parsed CSV: header, rows of strings, and how it was read."""

    def __init__(self, name: str, columns: list[str], rows: list[list[str]], delimiter: str, encoding: str) -> None:
        self.name = name
        self.columns = columns
        self.rows = rows
        self.delimiter = delimiter
        self.encoding = encoding

    def column(self, wanted: str) -> list[str]:
        """Values of the column named ``wanted`` (case-insensitive); bad_input if absent."""
        for index, col in enumerate(self.columns):
            if col.strip().lower() == wanted.strip().lower():
                return [row[index] for row in self.rows]
        raise _bad(f"{self.name} has no column {wanted!r}; columns are: {', '.join(self.columns)}.")


def read_csv(item: InputFile | Path | str, max_rows: int = 1_000_000, strict: bool = True) -> CsvData:
    """Parse a CSV input with sniffed encoding and delimiter.

    With ``strict`` a row whose field count differs from the header is a ``bad_input`` naming
    the row (1-based, counting the header as row 1); otherwise short rows are padded.
    """
    text, encoding = read_text(item)
    name = item.name if isinstance(item, InputFile) else Path(item).name
    delimiter = sniff_delimiter(text[:65536])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise _bad(f"{name} is empty; expected a header row.") from None
    except csv.Error as exc:
        raise _bad(f"{name} row 1: {exc}.") from None
    if len(header) > MAX_COLUMNS:
        raise _bad(f"{name} row 1 has {len(header):,} columns; the limit is {MAX_COLUMNS:,} columns.")
    columns = [h.strip() for h in header]
    if not any(columns):
        raise _bad(f"{name} row 1: the header row is empty.")
    rows: list[list[str]] = []
    try:
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                if strict:
                    raise _bad(
                        f"{name} row {reader.line_num}: expected {len(columns)} fields "
                        f"(delimiter {delimiter!r}), found {len(row)}."
                    )
                row = (row + [""] * len(columns))[: len(columns)]
            rows.append(row)
            if len(rows) >= max_rows:
                break
    except csv.Error as exc:
        raise _bad(f"{name} row {reader.line_num}: {exc}.") from None
    return CsvData(name, columns, rows, delimiter, encoding)


def _unsafe_member(filename: str) -> str | None:
    """Why an archive member's name is unsafe to extract, or None."""
    if "\x00" in filename:
        return "has a NUL byte in its name"
    unified = filename.replace("\\", "/")
    member = PurePosixPath(unified)
    if member.is_absolute() or ".." in member.parts or (len(unified) > 1 and unified[1] == ":"):
        return "would escape the extraction folder"
    return None


def check_archive(
    archive: zipfile.ZipFile,
    name: str,
    max_total_bytes: int = 200 * 1024 * 1024,
    max_files: int = 2000,
    max_ratio: float = 100.0,
) -> list[zipfile.ZipInfo]:
    """Check every member of an open zip (also an .xlsx) before anything is decompressed.

    Refuses absolute paths, ``..`` and drive letters (with ``/`` or ``\\``), NUL in names,
    symlink and encrypted members, more than ``max_files`` members, a declared total above
    ``max_total_bytes``, and members (or an archive) expanding more than ``max_ratio`` times
    (zip bombs). Returns the members.
    """
    members = archive.infolist()
    if len(members) > max_files:
        raise _bad(f"{name} holds {len(members)} files; the limit is {max_files} files.")
    total = packed = 0
    for info in members:
        problem = _unsafe_member(info.filename)
        if problem is not None:
            raise _bad(f"{name}: member {info.filename!r} {problem}; nothing was extracted.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _bad(f"{name}: member {info.filename!r} is a symbolic link; not allowed.")
        if info.flag_bits & 0x1:
            raise _bad(f"{name}: member {info.filename!r} is encrypted; send an unencrypted archive.")
        total += info.file_size
        packed += info.compress_size
        if info.compress_size and info.file_size / info.compress_size > max_ratio:
            raise _bad(
                f"{name}: member {info.filename!r} expands {info.file_size / info.compress_size:.0f}x "
                f"(limit {max_ratio:.0f}x); refusing a possible zip bomb."
            )
        if info.compress_size == 0 and info.file_size > 0:
            raise _bad(
                f"{name}: member {info.filename!r} declares {info.file_size} bytes from 0; "
                "refusing a malformed archive."
            )
    if total > max_total_bytes:
        raise _bad(f"{name} expands to {total} bytes; the limit is {max_total_bytes} bytes.")
    if packed and total / packed > max_ratio:
        raise _bad(
            f"{name} expands {total / packed:.0f}x in total (limit {max_ratio:.0f}x); refusing a possible zip bomb."
        )
    return members


def open_zip(item: InputFile | Path | str, what: str = "zip archive") -> tuple[zipfile.ZipFile, str]:
    """Open an input as a zip file; ``bad_input`` naming the file when it is not one."""
    path = check_input(item)
    name = item.name if isinstance(item, InputFile) else path.name
    try:
        return zipfile.ZipFile(path), name
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _bad(f"{name} is not a valid {what}: {exc}.") from None


def safe_extract_zip(
    item: InputFile | Path | str,
    dest: Path,
    max_total_bytes: int = 200 * 1024 * 1024,
    max_files: int = 2000,
    max_ratio: float = 100.0,
) -> list[Path]:
    """Extract a zip archive into ``dest`` after :func:`check_archive` accepted every member.

    Sizes are enforced again while writing because the declared sizes in a zip can lie, and
    every target is resolved and kept inside ``dest``.
    """
    archive, name = open_zip(item)
    with archive:
        members = check_archive(archive, name, max_total_bytes, max_files, max_ratio)
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        written, extracted = 0, []
        for info in members:
            target = (dest / info.filename.replace("\\", "/")).resolve()
            if root not in target.parents and target != root:
                raise _bad(f"{name}: member {info.filename!r} would escape the extraction folder.")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        written += len(chunk)
                        if written > max_total_bytes:
                            raise _bad(f"{name} expands beyond {max_total_bytes} bytes; stopped.")
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError) as exc:
                raise _bad(f"{name}: member {info.filename!r} cannot be extracted: {exc}.") from None
            extracted.append(target)
    return extracted

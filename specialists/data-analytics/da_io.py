"""Load dropped tabular files into pandas frames, with errors that name the row and column.

Why not just ``pd.read_csv``: its messages ("Error tokenizing data. C error ...") do not tell a
user which file, row and header are at fault, and it guesses encodings badly. We decode and
sniff first, validate row widths with the stdlib ``csv`` module, and only then hand the text
to pandas.
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path
from typing import Any

from switchboard_runtime.api import SpecialistError
from switchboard_runtime.files import (
    MAX_COLUMNS,
    check_archive,
    check_input,
    mixed_encoding,
    safe_extract_zip,
)

__all__ = ["TABULAR_SUFFIXES", "check_workbook", "decode_text", "expand_inputs", "load_table", "sheet_names"]

TABULAR_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".xlsx", ".xlsm", ".parquet")
MAX_ZIP_TOTAL = 200 * 1024 * 1024
MAX_WORKBOOK_BYTES = 256 * 1024 * 1024  # a workbook's XML, uncompressed
_DTD = (b"<!DOCTYPE", b"<!ENTITY")


def _bad(message: str) -> SpecialistError:
    return SpecialistError("bad_input", message)


def decode_text(raw: bytes, name: str) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM, or Latin-1 / cp1252.

    Returns ``(text, encoding)``. Binary content (NUL bytes, control characters) is refused
    with the line number, because a silent Latin-1 decode would turn it into garbage columns.
    """
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _bad(f"{name}: invalid UTF-16 at byte {exc.start}.") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raw_body, enc = raw[3:], "utf-8-sig"
    else:
        raw_body, enc = raw, "utf-8"
    nul = raw_body.find(b"\x00")
    if nul >= 0:
        line = raw_body.count(b"\n", 0, nul) + 1
        raise _bad(
            f"{name}: line {line} contains a NUL byte (offset {nul}); the file is binary "
            "or UTF-16 without a byte-order mark, not a text table."
        )
    try:
        return raw_body.decode("utf-8"), enc
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    mixed = mixed_encoding(raw_body)
    if mixed is not None:
        line, offset = mixed
        raise _bad(
            f"{name} mixes text encodings: it holds UTF-8 text, but line {line} (offset "
            f"{offset}) has byte 0x{raw_body[offset]:02x}, which is not UTF-8. Save the file "
            "in one encoding (UTF-8) and send it again."
        )
    for fallback in ("cp1252", "latin-1"):
        try:
            text = raw_body.decode(fallback)
        except UnicodeDecodeError:
            continue
        bad_chars = [c for c in text if ord(c) < 32 and c not in "\t\r\n"]
        bad_chars += [c for c in text if 0x80 <= ord(c) <= 0x9F]
        if not bad_chars:
            return text, fallback
    line = raw_body.count(b"\n", 0, first_bad) + 1
    raise _bad(
        f"{name}: line {line} is neither UTF-8 nor Latin-1 text (byte 0x"
        f"{raw_body[first_bad]:02x} at offset {first_bad})."
    )


def _sniff_delimiter(text: str, suffix: str) -> str:
    """Pick the delimiter from the first lines; TSV files default to a tab."""
    if suffix == ".tsv":
        return "\t"
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _read_delimited(path: Path, name: str) -> tuple[Any, dict[str, Any]]:
    import pandas as pd

    text, encoding = decode_text(path.read_bytes(), name)
    if not text.strip():
        raise _bad(f"{name} is empty.")
    delim = _sniff_delimiter(text, path.suffix.lower())
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        header = next(reader)
        width = len(header)
        if width > MAX_COLUMNS:
            raise _bad(f"{name} row 1 has {width:,} columns; the limit is {MAX_COLUMNS:,} columns.")
        for row in reader:
            if row and len(row) != width:
                raise _bad(
                    f"{name} row {reader.line_num} has {len(row)} fields but the header has "
                    f"{width} ({', '.join(header[:8])}); check for an unquoted "
                    f"{'comma' if delim == ',' else repr(delim)} or a missing value."
                )
    except csv.Error as exc:
        raise _bad(f"{name} row {reader.line_num}: {exc}.") from exc
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise _bad(f"{name}: duplicate column names in the header: {', '.join(dupes)}.")
    df = pd.read_csv(io.StringIO(text), sep=delim, skip_blank_lines=True)
    return df, {"encoding": encoding, "delimiter": delim}


def _read_json(path: Path, name: str) -> tuple[Any, dict[str, Any]]:
    """:func:`_parse_json`, with nesting too deep for the parser named instead of crashing."""
    try:
        return _parse_json(path, name)
    except RecursionError:
        raise _bad(
            f"{name} is nested too deeply to read as a table (more than about "
            f"{sys.getrecursionlimit()} levels of arrays/objects)."
        ) from None


def _parse_json(path: Path, name: str) -> tuple[Any, dict[str, Any]]:
    import json

    import pandas as pd

    text, encoding = decode_text(path.read_bytes(), name)
    stripped = text.lstrip()
    if path.suffix.lower() in (".jsonl", ".ndjson") or (stripped.startswith("{") and "\n{" in text):
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _bad(f"{name} line {number}, column {exc.colno}: {exc.msg}.") from exc
            if not isinstance(obj, dict):
                raise _bad(f"{name} line {number} is not a JSON object.")
            records.append(obj)
        return pd.json_normalize(records), {"encoding": encoding, "format": "jsonl"}
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"{name} line {exc.lineno}, column {exc.colno}: {exc.msg}.") from exc
    if isinstance(obj, dict):
        lists = [v for v in obj.values() if isinstance(v, list)]
        if len(lists) == 1:
            obj = lists[0]
        elif all(isinstance(v, list) for v in obj.values()):
            return pd.DataFrame(obj), {"encoding": encoding, "format": "json-columns"}
        else:
            obj = [obj]
    if not isinstance(obj, list) or not all(isinstance(r, dict) for r in obj):
        raise _bad(f"{name}: expected a JSON array of objects (one per row).")
    return pd.json_normalize(obj), {"encoding": encoding, "format": "json"}


def check_workbook(path: Path, name: str) -> None:
    """Refuse a workbook that is a zip bomb, escapes with its member names, or declares a DTD.

    An .xlsx is a zip of XML parts: the archive checks catch huge expansion before openpyxl
    inflates anything, and refusing ``<!DOCTYPE``/``<!ENTITY`` in the parts rules out entity
    expansion (billion laughs) and external entities whatever XML parser reads them.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _bad(f"{name} is not a readable Excel workbook (truncated or corrupt: {exc}).") from None
    with archive:
        members = check_archive(archive, name, max_total_bytes=MAX_WORKBOOK_BYTES, max_files=10_000, max_ratio=200.0)
        for info in members:
            if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with archive.open(info) as part:
                    head = part.read(65536)  # a DTD comes before the root element
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                raise _bad(
                    f"{name} is not a readable Excel workbook (truncated or corrupt: part {info.filename!r}: {exc})."
                ) from None
            if any(marker in head for marker in _DTD):
                raise _bad(
                    f"{name}: part {info.filename!r} declares an XML DTD or entities; refused "
                    "(entity expansion and external entities are never processed)."
                )


def sheet_names(path: Path, name: str) -> list[str]:
    """List a workbook's sheets, mapping a corrupt or truncated file to ``bad_input``."""
    import openpyxl

    check_workbook(path, name)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _bad(f"{name} is not a readable Excel workbook (truncated or corrupt: {exc}).") from exc
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _read_excel(path: Path, name: str, sheet: str | None) -> tuple[Any, dict[str, Any]]:
    import pandas as pd

    sheets = sheet_names(path, name)
    chosen = sheets[0] if sheet is None else None
    if sheet is not None:
        lowered = {s.lower(): s for s in sheets}
        chosen = lowered.get(sheet.lower())
        if chosen is None:
            raise _bad(f"{name} has no sheet {sheet!r}; sheets: {', '.join(sheets)}.")
    try:
        df = pd.read_excel(path, sheet_name=chosen, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise _bad(f"{name} sheet {chosen!r} cannot be read: {exc}.") from exc
    return df, {"sheet": chosen, "sheets": sheets}


def _read_parquet(path: Path, name: str) -> tuple[Any, dict[str, Any]]:
    import pandas as pd

    try:
        df = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError with no common base
        raise _bad(f"{name} is not a readable Parquet file: {exc}.") from exc
    return df, {"format": "parquet"}


def load_table(path: Path, name: str, sheet: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Read one tabular file by extension; returns ``(DataFrame, info)``."""
    if path.is_symlink():
        raise SpecialistError("forbidden", f"{name} is a symbolic link; only regular files are read.")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_delimited(path, name)
    if suffix in (".json", ".jsonl", ".ndjson"):
        return _read_json(path, name)
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, name, sheet)
    if suffix == ".parquet":
        return _read_parquet(path, name)
    raise SpecialistError(
        "unsupported",
        f"{name}: unsupported file type {suffix or '(none)'}; "
        f"use one of {', '.join(TABULAR_SUFFIXES)} or a .zip of them.",
    )


def expand_inputs(inputs: list[Any], scratch: Path) -> list[tuple[str, Path]]:
    """Turn the task's input files into ``(name, path)`` pairs, unpacking zip archives.

    The runtime's shared checks refuse symlinks and unsafe archives (``..`` paths, links,
    zip bombs) before anything is extracted.
    """
    files: list[tuple[str, Path]] = []
    for item in inputs:
        path = check_input(item)
        if path.suffix.lower() != ".zip":
            files.append((item.name, path))
            continue
        dest = scratch / f"zip{len(files)}"
        members = [
            p
            for p in safe_extract_zip(item, dest, max_total_bytes=MAX_ZIP_TOTAL)
            if p.suffix.lower() in TABULAR_SUFFIXES
        ]
        if not members:
            raise _bad(f"{item.name} contains no tabular files ({', '.join(TABULAR_SUFFIXES)}).")
        files.extend((f"{item.name}:{p.relative_to(dest.resolve())}", p) for p in sorted(members))
    return files

"""Build wire response messages from handler results and errors."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any

from switchboard_runtime.api import ERROR_KINDS, Result, Table, Task
from switchboard_runtime.jsonsafe import fit_to_budget, to_jsonable

__all__ = ["error_message", "list_artifacts", "result_message"]

MAX_ARTIFACTS = 200
_EXTRA_MIME = {
    ".parquet": "application/vnd.apache.parquet",
    ".sqlite": "application/vnd.sqlite3",
    ".db": "application/vnd.sqlite3",
    ".jsonl": "application/x-ndjson",
    ".md": "text/markdown",
    ".joblib": "application/octet-stream",
    ".pkl": "application/octet-stream",
}


def _base(task_id: str | None) -> dict[str, Any]:
    return {"v": 1, "kind": "result", "id": task_id}


def error_message(task_id: str | None, kind: str, message: str) -> dict[str, Any]:
    """A failed ``result`` with ``error = {kind, message}``."""
    if kind not in ERROR_KINDS:
        kind = "internal"
    out = _base(task_id)
    out.update(
        {
            "ok": False,
            "path": "explicit",
            "answer": "",
            "data": None,
            "tables": [],
            "artifacts": [],
            "operation": None,
            "stdout": "",
            "stderr": "",
            "truncated": False,
            "error": {"kind": kind, "message": message},
        }
    )
    return out


def mime_type(path: Path) -> str:
    """Best guess of a file's MIME type from its extension."""
    suffix = path.suffix.lower()
    if suffix in _EXTRA_MIME:
        return _EXTRA_MIME[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def list_artifacts(output_dir: Path, named: list[Path]) -> list[dict[str, Any]]:
    """Every regular file under ``output_dir`` (plus ``named`` ones inside it), with size/mime.

    Symlinks are skipped: an artifact must be a real file the engine can copy safely.
    """
    found: dict[str, Path] = {}
    root = output_dir.resolve() if output_dir.exists() else output_dir
    candidates: list[Path] = []
    for item in named:
        path = item if item.is_absolute() else output_dir / item
        candidates.append(path)
    if output_dir.is_dir():
        for dirpath, dirnames, filenames in os.walk(output_dir):
            dirnames.sort()
            for name in sorted(filenames):
                candidates.append(Path(dirpath) / name)
    for path in candidates:
        if len(found) >= MAX_ARTIFACTS:
            break
        try:
            if path.is_symlink() or not path.is_file():
                continue
            if root != path.resolve() and root not in path.resolve().parents:
                continue
        except OSError:
            continue
        found.setdefault(str(path), path)
    return [
        {
            "name": str(p.relative_to(output_dir)) if p.is_relative_to(output_dir) else p.name,
            "path": str(p),
            "bytes": p.stat().st_size,
            "mime": mime_type(p),
        }
        for p in found.values()
    ]


def _table(table: Table | dict[str, Any]) -> dict[str, Any]:
    if isinstance(table, dict):
        return {
            "name": str(table.get("name", "result")),
            "columns": [str(c) for c in table.get("columns", [])],
            "rows": to_jsonable(list(table.get("rows", []))),
        }
    return {
        "name": table.name,
        "columns": [str(c) for c in table.columns],
        "rows": to_jsonable([list(r) for r in table.rows]),
    }


def result_message(task: Task, result: Any) -> dict[str, Any]:
    """The successful response for ``result``; enforces ``task.max_output_bytes``."""
    if not isinstance(result, Result):
        return error_message(task.id, "internal", f"Handler returned {type(result).__name__}, not Result.")
    out = _base(task.id)
    operation = None
    if result.operation_kind or result.operation_text:
        operation = {"kind": result.operation_kind, "text": result.operation_text}
    out.update(
        {
            "ok": True,
            "path": result.path or "explicit",
            "answer": str(result.answer),
            "data": to_jsonable(result.data),
            "tables": [_table(t) for t in result.tables],
            "artifacts": list_artifacts(task.output_dir, list(result.artifacts)),
            "operation": operation,
            "stdout": result.stdout or "",
            "stderr": result.stderr or "",
            "truncated": False,
            "error": None,
        }
    )
    if out["data"] is not None and not isinstance(out["data"], dict):
        out["data"] = {"value": out["data"]}
    out["truncated"] = fit_to_budget(out, task.max_output_bytes)
    return out

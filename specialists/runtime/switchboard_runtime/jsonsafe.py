"""Turn handler results into JSON the engine can always parse, within a byte budget.

Handlers return numpy scalars, NaN, bytes, dates and the like; the wire carries strict JSON
(``allow_nan=False``), so everything passes through :func:`to_jsonable` first.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import PurePath
from typing import Any

__all__ = ["dumps", "fit_to_budget", "to_jsonable"]

_MAX_DEPTH = 64


def to_jsonable(obj: Any, _depth: int = 0) -> Any:
    """Return a structure of dict/list/str/int/float/bool/None equivalent to ``obj``.

    NaN and infinities become ``None`` (JSON has no spelling for them), bytes become
    ``{"$bytes": <base64>}``, dates become ISO strings, numpy values become Python values
    (detected by duck typing so numpy is never imported here).
    """
    if _depth > _MAX_DEPTH:
        return "<nested too deeply>"
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    nxt = _depth + 1
    if isinstance(obj, dict):
        return {_key(k): to_jsonable(v, nxt) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v, nxt) for v in items]
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, _dt.timedelta):
        return obj.total_seconds()
    if isinstance(obj, complex):
        return {"re": to_jsonable(obj.real), "im": to_jsonable(obj.imag)}
    if isinstance(obj, (Decimal, Fraction)):
        return to_jsonable(float(obj))
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj), nxt)
    return _foreign(obj, nxt)


def _foreign(obj: Any, depth: int) -> Any:
    """Handle numpy/pandas/sympy-like objects without importing those libraries."""
    module = type(obj).__module__ or ""
    if hasattr(obj, "isoformat") and callable(obj.isoformat):
        try:
            return obj.isoformat()
        except (TypeError, ValueError):
            return None  # pandas NaT
    if module.startswith(("numpy", "pandas")):
        if hasattr(obj, "tolist"):
            return to_jsonable(obj.tolist(), depth)
        if hasattr(obj, "item"):
            return to_jsonable(obj.item(), depth)
    if hasattr(obj, "to_dict") and module.startswith("pandas"):
        return to_jsonable(obj.to_dict(), depth)
    if module.startswith("pandas") and type(obj).__name__ in {"NAType", "NaTType"}:
        return None
    return str(obj)


def _key(key: Any) -> str:
    """JSON object keys must be strings."""
    if isinstance(key, str):
        return key
    safe = to_jsonable(key)
    return safe if isinstance(safe, str) else json.dumps(safe)


def dumps(message: dict[str, Any]) -> bytes:
    """Encode one wire message as a UTF-8 line (strict JSON, no NaN)."""
    return json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _size(message: dict[str, Any]) -> int:
    return len(dumps(message))


def _cut(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes, marking the cut."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    keep = raw[: max(limit - 40, 0)].decode("utf-8", errors="ignore")
    return f"{keep}\n... [truncated, {len(raw)} bytes in total]"


def fit_to_budget(message: dict[str, Any], max_bytes: int) -> bool:
    """Shrink ``message`` in place until it encodes to at most ``max_bytes``; say if it shrank.

    Cuts in order of least value to the user: stdout/stderr, then table rows (halving, so
    the first rows survive), then ``data``, then the answer itself.
    """
    if _size(message) <= max_bytes:
        return False
    budget = max(max_bytes, 1024)
    for field in ("stderr", "stdout"):
        if message.get(field):
            message[field] = _cut(message[field], budget // 8)
    tables = message.get("tables") or []
    while _size(message) > budget and any(len(t["rows"]) > 1 for t in tables):
        for table in tables:
            if len(table["rows"]) > 1:
                table["rows"] = table["rows"][: len(table["rows"]) // 2]
                table["truncated"] = True
    if _size(message) > budget and message.get("data") is not None:
        message["data"] = {"truncated": True}
    if _size(message) > budget:
        message["tables"] = []
    if _size(message) > budget and message.get("answer"):
        message["answer"] = _cut(message["answer"], budget // 2)
    if _size(message) > budget:
        for field in ("stderr", "stdout"):
            message[field] = ""
    return True

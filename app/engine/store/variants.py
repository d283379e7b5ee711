"""Specialist variants and their outcomes, as Core statements run on the writer thread.

Rows written are plain dicts; ``parameters`` and ``example_ids`` (Python values) are encoded
into their ``*_json`` columns here, and rows are read back as
:class:`~app.engine.store.rows.VariantRecord` with them decoded, so the layer above never sees
JSON text.
The rules that decide a variant's state live in :mod:`app.engine.improve`; this module only
stores what it is told.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from app.engine.core.errors import BadInput, NotFound
from app.engine.store.models import table
from app.engine.store.rows import VariantOutcomeRecord, VariantRecord

__all__ = [
    "OUTCOME_SOURCES",
    "VARIANT_STATES",
    "add_outcomes",
    "insert_variant",
    "list_outcomes",
    "list_variants",
    "next_version",
    "outcome_rows",
    "update_variant",
    "update_variants",
    "variant_row",
]

VARIANTS = table("variants")
OUTCOMES = table("variant_outcomes")

VARIANT_STATES = frozenset({"pending", "candidate", "incumbent", "retired"})
OUTCOME_SOURCES = frozenset({"live", "replay"})
_VARIANT_COLUMNS = frozenset(c.name for c in VARIANTS.columns)


def variant_row(fields: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
    """Check and encode variant fields (on the caller's thread, so mistakes surface there)."""
    row = dict(fields)
    if "parameters" in row:
        row["parameters_json"] = json.dumps(dict(row.pop("parameters")), sort_keys=True)
    if "example_ids" in row:
        row["example_ids_json"] = json.dumps([str(e) for e in row.pop("example_ids")])
    if "replay" in row:
        replay = row.pop("replay")
        row["replay_json"] = None if replay is None else json.dumps(replay, default=str)
    unknown = set(row) - _VARIANT_COLUMNS
    if unknown:
        raise BadInput(f"unknown variant field(s): {', '.join(sorted(unknown))}")
    if "state" in row and row["state"] not in VARIANT_STATES:
        raise BadInput(f"variant state must be one of {', '.join(sorted(VARIANT_STATES))}")
    if new:
        missing = [k for k in ("id", "specialist", "version", "state", "base_model") if k not in row]
        if missing:
            raise BadInput(f"a variant row lacks {', '.join(missing)}")
        now = time.time()
        row.setdefault("created_at", now)
        row.setdefault("updated_at", row["created_at"])
        for name, default in (
            ("image", ""),
            ("system_prompt", ""),
            ("parameters_json", "{}"),
            ("example_ids_json", "[]"),
            ("reason", ""),
        ):
            row.setdefault(name, default)
    return row


def insert_variant(conn: Connection, row: dict[str, Any]) -> None:
    """Insert one variant; a duplicate id or version fails with :class:`BadInput`."""
    conn.execute(insert(VARIANTS), row)


def update_variant(conn: Connection, variant_id: str, fields: dict[str, Any]) -> None:
    """Set fields on a variant (and ``updated_at``); :class:`NotFound` when it does not exist."""
    values = {"updated_at": time.time(), **fields}
    done = conn.execute(update(VARIANTS).where(VARIANTS.c.id == variant_id).values(values))
    if done.rowcount == 0:
        raise NotFound(f"no variant {variant_id!r}")


def update_variants(conn: Connection, changes: list[tuple[str, dict[str, Any]]]) -> None:
    """Several variant updates as one unit (a promotion retires the old incumbent with it)."""
    for variant_id, fields in changes:
        update_variant(conn, variant_id, fields)


def list_variants(conn: Connection, specialist: str | None) -> list[VariantRecord]:
    """Variants (of one specialist, or all), oldest version first."""
    stmt = select(VARIANTS).order_by(VARIANTS.c.specialist, VARIANTS.c.version)
    if specialist is not None:
        stmt = stmt.where(VARIANTS.c.specialist == specialist)
    return [VariantRecord.from_row(r._mapping) for r in conn.execute(stmt)]


def next_version(conn: Connection, specialist: str) -> int:
    """One more than the highest version of ``specialist`` (1 for the first)."""
    stmt = select(func.max(VARIANTS.c.version)).where(VARIANTS.c.specialist == specialist)
    return int(conn.execute(stmt).scalar() or 0) + 1


def outcome_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate and normalise outcome rows (``ts`` defaults to now)."""
    now = time.time()
    out = []
    for row in rows:
        missing = [k for k in ("variant_id", "specialist", "source", "success") if k not in row]
        if missing:
            raise BadInput(f"variant outcome row lacks {', '.join(missing)}")
        if row["source"] not in OUTCOME_SOURCES:
            raise BadInput(f"outcome source must be live or replay, not {row['source']!r}")
        latency = row.get("latency_ms")
        out.append(
            {
                "ts": float(row.get("ts") or now),
                "variant_id": str(row["variant_id"]),
                "specialist": str(row["specialist"]),
                "source": str(row["source"]),
                "task_id": None if row.get("task_id") is None else str(row["task_id"]),
                "success": bool(row["success"]),
                "latency_ms": None if latency is None else float(latency),
            }
        )
    return out


def add_outcomes(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert normalised outcomes in one executemany."""
    if rows:
        conn.execute(insert(OUTCOMES), rows)
    return len(rows)


def list_outcomes(
    conn: Connection,
    *,
    specialist: str,
    source: str | None = None,
    since_ts: float | None = None,
) -> list[VariantOutcomeRecord]:
    """Outcomes of a specialist's variants, oldest first, optionally one source / since a time."""
    stmt = (
        select(
            OUTCOMES.c.variant_id,
            OUTCOMES.c.ts,
            OUTCOMES.c.source,
            OUTCOMES.c.task_id,
            OUTCOMES.c.success,
            OUTCOMES.c.latency_ms,
        )
        .where(OUTCOMES.c.specialist == specialist)
        .order_by(OUTCOMES.c.ts, OUTCOMES.c.id)
    )
    if source is not None:
        stmt = stmt.where(OUTCOMES.c.source == source)
    if since_ts is not None:
        stmt = stmt.where(OUTCOMES.c.ts >= since_ts)
    return [VariantOutcomeRecord.from_row(r._mapping) for r in conn.execute(stmt)]

"""Curated dataset examples per specialist, and the stored rows they are drawn from.

Curation is two steps on the writer thread with the deciding in between (in
:mod:`app.engine.improve.datasets`, a layer above): :func:`dataset_sources` reads the evidence
(finished tasks, feedback, latest golden outcome per case), then :func:`upsert_examples` writes
the examples. Upserting is idempotent on ``(specialist, example_id)`` and never touches a row
the user removed, so a removed example stays removed however often the dataset is rebuilt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Table, and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from app.engine.core.errors import BadInput, NotFound
from app.engine.store.models import table
from app.engine.store.rows import (
    DatasetSources,
    ExampleRecord,
    FeedbackRecord,
    GoldenRunRecord,
    TaskRecord,
)

__all__ = [
    "EXAMPLE_FIELDS",
    "dataset_sources",
    "example_rows",
    "list_examples",
    "remove_example",
    "upsert_examples",
]

EXAMPLES = table("dataset_examples")
TASKS = table("tasks")
FEEDBACK = table("feedback")
GOLDEN = table("golden_runs")

# What an example carries besides its key; compared to decide whether a stored row changed.
EXAMPLE_FIELDS = (
    "source",
    "label",
    "text",
    "answer",
    "plan_json",
    "expected_json",
    "task_id",
    "case_id",
    "latency_ms",
    "ts",
)
_LABELS = frozenset({"good", "bad", "routing"})


def _columns(row: Row[Any], of: Table) -> dict[str, Any]:
    """The columns of one table in a joined row, by name (both tables have an ``id``)."""
    return {c.name: row._mapping[c] for c in of.columns}


def dataset_sources(conn: Connection, specialist: str, limit: int = 2000) -> DatasetSources:
    """The evidence an example can come from, for one specialist.

    The newest ``limit`` finished tasks of the specialist (their plan is in their result);
    every feedback on a task of the specialist or naming it as the right one, oldest first,
    each with its task; and the latest outcome of each golden case of the specialist.
    """
    finished = (
        select(TASKS)
        .where(TASKS.c.specialist == specialist, TASKS.c.state.in_(["succeeded", "failed"]))
        .order_by(TASKS.c.created_at.desc(), TASKS.c.id.desc())
        .limit(max(0, int(limit)))
    )
    tasks = tuple(TaskRecord.from_row(r._mapping) for r in conn.execute(finished))

    feedback_stmt = (
        select(FEEDBACK, TASKS)
        .join(TASKS, TASKS.c.id == FEEDBACK.c.task_id)
        .where(or_(TASKS.c.specialist == specialist, FEEDBACK.c.specialist == specialist))
        .order_by(FEEDBACK.c.ts, FEEDBACK.c.id)
    )
    feedback = tuple(
        (
            FeedbackRecord.from_row(_columns(r, FEEDBACK)),
            TaskRecord.from_row(_columns(r, TASKS)),
        )
        for r in conn.execute(feedback_stmt)
    )

    latest = (
        select(GOLDEN.c.case_id, func.max(GOLDEN.c.ts).label("latest"))
        .where(GOLDEN.c.specialist == specialist)
        .group_by(GOLDEN.c.case_id)
        .subquery()
    )
    golden_stmt = (
        select(GOLDEN)
        .join(latest, and_(GOLDEN.c.case_id == latest.c.case_id, GOLDEN.c.ts == latest.c.latest))
        .where(GOLDEN.c.specialist == specialist)
        .order_by(GOLDEN.c.case_id, GOLDEN.c.id.desc())
    )
    golden: dict[str, GoldenRunRecord] = {}
    for g in conn.execute(golden_stmt):
        golden.setdefault(str(g.case_id), GoldenRunRecord.from_row(g._mapping))  # one per case
    return DatasetSources(tasks=tasks, feedback=feedback, golden=tuple(golden.values()))


def example_rows(specialist: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate and encode examples (``plan`` and ``expected`` become JSON text)."""
    out = []
    for row in rows:
        if not row.get("example_id") or not row.get("text"):
            raise BadInput("a dataset example needs an example_id and a text")
        if row.get("label") not in _LABELS:
            raise BadInput(f"example label must be good, bad or routing, not {row.get('label')!r}")
        plan, expected = row.get("plan"), row.get("expected")
        latency = row.get("latency_ms")
        out.append(
            {
                "specialist": specialist,
                "example_id": str(row["example_id"]),
                "source": str(row.get("source") or "unknown"),
                "label": str(row["label"]),
                "text": str(row["text"]),
                "answer": str(row.get("answer") or ""),
                "plan_json": None if plan is None else json.dumps(plan, sort_keys=True, default=str),
                "expected_json": None if expected is None else json.dumps(expected, sort_keys=True, default=str),
                "task_id": row.get("task_id"),
                "case_id": row.get("case_id"),
                "latency_ms": None if latency is None else float(latency),
                "ts": float(row.get("ts") or time.time()),
            }
        )
    return out


def upsert_examples(conn: Connection, specialist: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert new examples, refresh changed ones, leave removed ones alone.

    Returns counts ``added``, ``updated``, ``unchanged`` and ``kept_removed``.
    """
    stmt = select(EXAMPLES).where(EXAMPLES.c.specialist == specialist)
    existing = {str(r.example_id): dict(r._mapping) for r in conn.execute(stmt)}
    counts = {"added": 0, "updated": 0, "unchanged": 0, "kept_removed": 0}
    now = time.time()
    new_rows = []
    unique = {row["example_id"]: row for row in rows}  # the same key twice: the last one wins
    for key, row in unique.items():
        old = existing.get(key)
        if old is None:
            new_rows.append({**row, "created_at": now, "removed": False, "removed_at": None})
            counts["added"] += 1
        elif old["removed"]:
            counts["kept_removed"] += 1
        elif any(old.get(k) != row.get(k) for k in EXAMPLE_FIELDS):
            conn.execute(
                update(EXAMPLES).where(EXAMPLES.c.id == old["id"]).values({k: row.get(k) for k in EXAMPLE_FIELDS})
            )
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    if new_rows:
        conn.execute(insert(EXAMPLES), new_rows)
    return counts


def list_examples(conn: Connection, specialist: str, *, include_removed: bool = False) -> list[ExampleRecord]:
    """A specialist's examples, newest evidence first; removed ones only when asked."""
    stmt = select(EXAMPLES).where(EXAMPLES.c.specialist == specialist)
    if not include_removed:
        stmt = stmt.where(EXAMPLES.c.removed.is_(False))
    stmt = stmt.order_by(EXAMPLES.c.ts.desc(), EXAMPLES.c.example_id)
    return [ExampleRecord.from_row(r._mapping) for r in conn.execute(stmt)]


def remove_example(conn: Connection, specialist: str, example_id: str) -> bool:
    """Mark an example removed; False when it already was, :class:`NotFound` when unknown."""
    where = and_(EXAMPLES.c.specialist == specialist, EXAMPLES.c.example_id == example_id)
    row = conn.execute(select(EXAMPLES.c.removed).where(where)).first()
    if row is None:
        raise NotFound(f"{specialist} has no dataset example {example_id!r}")
    if row.removed:
        return False
    conn.execute(update(EXAMPLES).where(where).values(removed=True, removed_at=time.time()))
    return True

"""Append-only records: decisions, samples, feedback, routing decisions, golden runs, metrics.

Each function runs on the writer thread with an open connection. Rows written are plain dicts;
the ``*_json`` columns are encoded here so callers pass ordinary Python values. Decisions and
feedback are read back as records (:mod:`app.engine.store.rows`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from app.engine.core.errors import BadInput
from app.engine.store.models import table
from app.engine.store.rows import DecisionRecord, FeedbackRecord, RoutingFeedbackRecord

__all__ = [
    "FEEDBACK_KINDS",
    "add_decision",
    "recent_decisions",
    "add_feedback",
    "add_golden_runs",
    "add_metric",
    "add_routing_decision",
    "add_samples",
    "count_routing_feedback",
    "list_feedback",
    "prune_samples",
    "routing_feedback",
]

FEEDBACK_KINDS = frozenset({"correct", "wrong_specialist", "bad_answer"})

SAMPLES = table("samples")
DECISIONS = table("decisions")
FEEDBACK = table("feedback")
ROUTING = table("routing_decisions")
TASKS = table("tasks")
GOLDEN = table("golden_runs")
METRICS = table("metric_points")

_SAMPLE_FIELDS = ("container", "specialist", "cpu_percent", "memory_bytes", "pids")
_GOLDEN_FIELDS = ("run_id", "specialist", "case_id", "passed")


def _require(kind: str, row: Mapping[str, Any], names: Sequence[str]) -> None:
    missing = [n for n in names if n not in row]
    if missing:
        raise BadInput(f"{kind} row lacks {', '.join(missing)}")


def sample_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate and normalise resource samples (``ts`` defaults to now)."""
    now = time.time()
    out = []
    for row in rows:
        _require("sample", row, _SAMPLE_FIELDS)
        out.append(
            {
                "ts": float(row.get("ts") or now),
                "container": str(row["container"]),
                "specialist": str(row["specialist"]),
                "cpu_percent": float(row["cpu_percent"]),
                "memory_bytes": int(row["memory_bytes"]),
                "pids": int(row["pids"]),
            }
        )
    return out


def add_samples(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert already-normalised samples in one executemany."""
    if rows:
        conn.execute(insert(SAMPLES), rows)
    return len(rows)


def prune_samples(conn: Connection, older_than_ts: float) -> int:
    """Delete samples older than ``older_than_ts``; returns how many went."""
    return conn.execute(delete(SAMPLES).where(SAMPLES.c.ts < older_than_ts)).rowcount


def add_decision(conn: Connection, row: dict[str, Any]) -> None:
    """Insert one decision row (built by the Store method)."""
    conn.execute(insert(DECISIONS), row)


def recent_decisions(conn: Connection, limit: int, kinds: tuple[str, ...] = ()) -> list[DecisionRecord]:
    """The newest decisions first (of the given kinds), with ``data`` decoded."""
    query = select(DECISIONS).order_by(DECISIONS.c.ts.desc(), DECISIONS.c.id.desc()).limit(limit)
    if kinds:
        query = query.where(DECISIONS.c.kind.in_(kinds))
    return [DecisionRecord.from_row(row) for row in conn.execute(query).mappings()]


def decision_row(
    kind: str, subject: str, reason: str, data: Mapping[str, Any] | None, ts: float | None
) -> dict[str, Any]:
    """A ``decisions`` row with ``data`` encoded as JSON."""
    return {
        "ts": time.time() if ts is None else float(ts),
        "kind": kind,
        "subject": subject,
        "reason": reason,
        "data_json": json.dumps(dict(data), default=str) if data else None,
    }


def feedback_row(task_id: str, kind: str, specialist: str | None, note: str, ts: float | None) -> dict[str, Any]:
    """A ``feedback`` row; ``kind`` must be one of :data:`FEEDBACK_KINDS`."""
    if kind not in FEEDBACK_KINDS:
        raise BadInput(f"feedback kind must be one of {', '.join(sorted(FEEDBACK_KINDS))}, not {kind!r}")
    return {
        "ts": time.time() if ts is None else float(ts),
        "task_id": task_id,
        "kind": kind,
        "specialist": specialist,
        "note": note,
    }


def add_feedback(conn: Connection, row: dict[str, Any]) -> None:
    """Insert one feedback row; an unknown task id fails with :class:`BadInput` (foreign key)."""
    conn.execute(insert(FEEDBACK), row)


def list_feedback(conn: Connection, since_ts: float | None) -> list[FeedbackRecord]:
    """Feedback, oldest first, optionally only that given at or after ``since_ts``."""
    stmt = select(FEEDBACK).order_by(FEEDBACK.c.ts, FEEDBACK.c.id)
    if since_ts is not None:
        stmt = stmt.where(FEEDBACK.c.ts >= since_ts)
    return [FeedbackRecord.from_row(r._mapping) for r in conn.execute(stmt)]


ROUTING_FEEDBACK_KINDS = ("correct", "wrong_specialist")  # verdicts that say where a task belongs


def routing_feedback(conn: Connection) -> list[RoutingFeedbackRecord]:
    """Every verdict on where a task belongs (``correct``, ``wrong_specialist``), oldest first."""
    stmt = (
        select(FEEDBACK.c.ts, FEEDBACK.c.kind, FEEDBACK.c.specialist, TASKS.c.text)
        .join(TASKS, TASKS.c.id == FEEDBACK.c.task_id)
        .where(FEEDBACK.c.kind.in_(ROUTING_FEEDBACK_KINDS), FEEDBACK.c.specialist.is_not(None))
        .order_by(FEEDBACK.c.ts, FEEDBACK.c.id)
    )
    return [RoutingFeedbackRecord.from_row(r._mapping) for r in conn.execute(stmt)]


def count_routing_feedback(conn: Connection, since_ts: float | None) -> int:
    """How many such verdicts were given after ``since_ts`` (all when ``None``)."""
    stmt = (
        select(func.count())
        .select_from(FEEDBACK)
        .where(FEEDBACK.c.kind.in_(ROUTING_FEEDBACK_KINDS), FEEDBACK.c.specialist.is_not(None))
    )
    if since_ts is not None:
        stmt = stmt.where(FEEDBACK.c.ts > since_ts)
    return int(conn.execute(stmt).scalar() or 0)


def routing_row(
    *,
    text: str,
    chosen: str,
    router: str,
    confidence: float,
    scores: Mapping[str, float],
    latency_ms: float,
    rationale: str,
    schema_violation: bool,
    task_id: str | None,
    ts: float | None,
) -> dict[str, Any]:
    """A ``routing_decisions`` row with the scores encoded as JSON."""
    return {
        "ts": time.time() if ts is None else float(ts),
        "task_id": task_id,
        "text": text,
        "chosen": chosen,
        "router": router,
        "confidence": float(confidence),
        "scores_json": json.dumps({k: float(v) for k, v in scores.items()}),
        "latency_ms": float(latency_ms),
        "rationale": rationale,
        "schema_violation": bool(schema_violation),
    }


def add_routing_decision(conn: Connection, row: dict[str, Any]) -> None:
    """Insert one routing decision."""
    conn.execute(insert(ROUTING), row)


def golden_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate and normalise golden-case outcomes (``ts`` defaults to now)."""
    now = time.time()
    out = []
    for row in rows:
        _require("golden run", row, _GOLDEN_FIELDS)
        out.append(
            {
                "ts": float(row.get("ts") or now),
                "run_id": str(row["run_id"]),
                "specialist": str(row["specialist"]),
                "case_id": str(row["case_id"]),
                "path": row.get("path"),
                "passed": bool(row["passed"]),
                "detail": str(row.get("detail") or ""),
                "duration_ms": None if row.get("duration_ms") is None else float(row["duration_ms"]),
            }
        )
    return out


def add_golden_runs(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert normalised golden-case outcomes in one executemany."""
    if rows:
        conn.execute(insert(GOLDEN), rows)
    return len(rows)


def add_metric(conn: Connection, row: dict[str, Any]) -> None:
    """Insert one metric point."""
    conn.execute(insert(METRICS), row)

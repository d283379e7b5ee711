"""Chart series and per-specialist summaries, aggregated from the stored rows.

Time buckets are ``floor(ts / bucket_s) * bucket_s`` (bucket start). Sums, counts and means are
grouped in SQL so a day of samples never travels to Python; medians and shares are computed in
Python from the (much smaller) task, golden and feedback rows, because SQLite has no percentile
function.

Metrics
-------
``cpu_percent``, ``memory_bytes``
    From ``samples``; subject = container. ``subject=`` filters by container *or* specialist.
    Raw samples when ``bucket_s`` is None, else the mean per bucket and container.
``latency_ms``
    Median ``duration_ms`` of tasks that finished (succeeded or failed) in each bucket.
``throughput``
    Tasks finished per second in each bucket (empty buckets between the first and last are 0).
``cost``
    Sum of task cost per bucket (by finish time; empty buckets between are 0).
``accuracy``
    Two lines per bucket: subject ``golden`` = share of golden cases passed, subject
    ``feedback`` = share of feedback that said ``correct``.
any other name
    ``metric_points`` with that name; raw when ``bucket_s`` is None, else mean per bucket.

For the task-based metrics and ``accuracy``, ``subject=`` filters by specialist and ``bucket_s``
None picks a bucket giving about 200 points up to now.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, and_, cast, func, literal, or_, select
from sqlalchemy.engine import Connection

from app.engine.store.models import table

__all__ = ["NICE_BUCKETS", "Point", "auto_bucket", "series", "specialist_summary"]

Point = tuple[float, float, str]

NICE_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
_FILL_LIMIT = 5000  # never zero-fill more points than a chart can use
_FINISHED = ("succeeded", "failed")

TASKS = table("tasks")
SAMPLES = table("samples")
GOLDEN = table("golden_runs")
FEEDBACK = table("feedback")
METRICS = table("metric_points")


def auto_bucket(since_ts: float, now: float | None = None, points: int = 200) -> float:
    """A round bucket width giving about ``points`` buckets from ``since_ts`` to now."""
    span = max(1.0, (time.time() if now is None else now) - since_ts)
    target = span / points
    for width in NICE_BUCKETS:
        if width >= target:
            return float(width)
    return float(NICE_BUCKETS[-1])


def _bucket_index(conn: Connection, ts: Any, bucket_s: float) -> ColumnElement[Any]:
    quotient = ts / literal(float(bucket_s), Float)
    if conn.dialect.name == "sqlite":
        return cast(quotient, Integer)  # truncation is floor for positive Unix times
    return cast(func.floor(quotient), Integer)


def _grouped(
    conn: Connection,
    ts: Any,
    value: Any,
    subject: Any,
    where: Iterable[Any],
    bucket_s: float,
) -> list[tuple[int, str, float]]:
    idx = _bucket_index(conn, ts, bucket_s).label("b")
    if subject is None:
        stmt = select(idx, value.label("v")).where(*where).group_by(idx)
        return [(int(b), "", float(v or 0.0)) for b, v in conn.execute(stmt)]
    stmt = select(idx, subject.label("s"), value.label("v")).where(*where).group_by(idx, subject)
    return [(int(b), str(s or ""), float(v or 0.0)) for b, s, v in conn.execute(stmt)]


def _points(rows: Iterable[tuple[int, str, float]], bucket_s: float) -> list[Point]:
    return sorted((b * bucket_s, v, s) for b, s, v in rows)


def _zero_filled(rows: list[tuple[int, str, float]], bucket_s: float, label: str) -> list[Point]:
    by_bucket = {b: v for b, _s, v in rows}
    if not by_bucket:
        return []
    first, last = min(by_bucket), max(by_bucket)
    if last - first >= _FILL_LIMIT:
        return [(b * bucket_s, v, label) for b, v in sorted(by_bucket.items())]
    return [(b * bucket_s, by_bucket.get(b, 0.0), label) for b in range(first, last + 1)]


def _sample_series(
    conn: Connection, column: str, since_ts: float, subject: str | None, bucket_s: float | None
) -> list[Point]:
    where: list[Any] = [SAMPLES.c.ts >= since_ts]
    if subject is not None:
        where.append(or_(SAMPLES.c.container == subject, SAMPLES.c.specialist == subject))
    if bucket_s is None:
        stmt = select(SAMPLES.c.ts, SAMPLES.c[column], SAMPLES.c.container).where(*where)
        rows = conn.execute(stmt.order_by(SAMPLES.c.ts, SAMPLES.c.id))
        return [(float(t), float(v), str(c)) for t, v, c in rows]
    value = func.avg(cast(SAMPLES.c[column], Float))
    return _points(_grouped(conn, SAMPLES.c.ts, value, SAMPLES.c.container, where, bucket_s), bucket_s)


def _finished_where(since_ts: float, subject: str | None) -> list[Any]:
    where: list[Any] = [TASKS.c.finished_at.is_not(None), TASKS.c.finished_at >= since_ts]
    where.append(TASKS.c.state.in_(_FINISHED))
    if subject is not None:
        where.append(TASKS.c.specialist == subject)
    return where


def _latency(conn: Connection, since_ts: float, subject: str | None, bucket_s: float) -> list[Point]:
    where = [*_finished_where(since_ts, subject), TASKS.c.duration_ms.is_not(None)]
    idx = _bucket_index(conn, TASKS.c.finished_at, bucket_s)
    buckets: dict[int, list[float]] = defaultdict(list)
    for b, d in conn.execute(select(idx, TASKS.c.duration_ms).where(*where)):
        buckets[int(b)].append(float(d))
    label = subject or ""
    return [(b * bucket_s, statistics.median(v), label) for b, v in sorted(buckets.items())]


def _task_sum(conn: Connection, since_ts: float, subject: str | None, bucket_s: float, what: str) -> list[Point]:
    where = _finished_where(since_ts, subject)
    if what == "throughput":
        value: Any = cast(func.count(), Float) / literal(float(bucket_s), Float)
    else:
        value = func.coalesce(func.sum(TASKS.c.cost), 0.0)
    rows = _grouped(conn, TASKS.c.finished_at, value, None, where, bucket_s)
    return _zero_filled(rows, bucket_s, subject or "")


def _accuracy(conn: Connection, since_ts: float, subject: str | None, bucket_s: float) -> list[Point]:
    golden_where: list[Any] = [GOLDEN.c.ts >= since_ts]
    if subject is not None:
        golden_where.append(GOLDEN.c.specialist == subject)
    golden = conn.execute(select(_bucket_index(conn, GOLDEN.c.ts, bucket_s), GOLDEN.c.passed).where(*golden_where))
    # Feedback belongs to the specialist that ran the task, whatever the user named.
    who = func.coalesce(TASKS.c.specialist, FEEDBACK.c.specialist)
    fb_where: list[Any] = [FEEDBACK.c.ts >= since_ts]
    if subject is not None:
        fb_where.append(who == subject)
    feedback = conn.execute(
        select(_bucket_index(conn, FEEDBACK.c.ts, bucket_s), FEEDBACK.c.kind)
        .select_from(FEEDBACK.join(TASKS, and_(TASKS.c.id == FEEDBACK.c.task_id)))
        .where(*fb_where)
    )
    out: list[Point] = []
    for label, rows in (
        ("golden", ((b, bool(p)) for b, p in golden)),
        ("feedback", ((b, k == "correct") for b, k in feedback)),
    ):
        tally: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for b, ok in rows:
            tally[int(b)][0] += int(ok)
            tally[int(b)][1] += 1
        out.extend((b * bucket_s, good / total, label) for b, (good, total) in tally.items())
    return sorted(out)


def _metric(conn: Connection, name: str, since_ts: float, subject: str | None, bucket_s: float | None) -> list[Point]:
    where: list[Any] = [METRICS.c.name == name, METRICS.c.ts >= since_ts]
    if subject is not None:
        where.append(METRICS.c.subject == subject)
    if bucket_s is None:
        stmt = select(METRICS.c.ts, METRICS.c.value, METRICS.c.subject).where(*where)
        rows = conn.execute(stmt.order_by(METRICS.c.ts, METRICS.c.id))
        return [(float(t), float(v), str(s)) for t, v, s in rows]
    value = func.avg(METRICS.c.value)
    return _points(_grouped(conn, METRICS.c.ts, value, METRICS.c.subject, where, bucket_s), bucket_s)


def series(
    conn: Connection,
    metric: str,
    since_ts: float,
    subject: str | None = None,
    bucket_s: float | None = None,
) -> list[Point]:
    """Points ``(ts, value, subject)`` of ``metric`` since ``since_ts``; see the module doc."""
    if bucket_s is not None:
        if bucket_s <= 0:
            raise ValueError("bucket_s must be positive")
        bucket_s = float(bucket_s)
    if metric in {"cpu_percent", "memory_bytes"}:
        return _sample_series(conn, metric, since_ts, subject, bucket_s)
    if metric in {"latency_ms", "throughput", "cost", "accuracy"}:
        width = bucket_s if bucket_s is not None else auto_bucket(since_ts)
        if metric == "latency_ms":
            return _latency(conn, since_ts, subject, width)
        if metric == "accuracy":
            return _accuracy(conn, since_ts, subject, width)
        return _task_sum(conn, since_ts, subject, width, metric)
    return _metric(conn, metric, since_ts, subject, bucket_s)


def specialist_summary(conn: Connection, since_ts: float) -> dict[str, dict[str, Any]]:
    """Per specialist, over tasks created since ``since_ts``: counts, success rate, cost, latency."""
    where = [TASKS.c.created_at >= since_ts, TASKS.c.specialist.is_not(None)]
    summary: dict[str, dict[str, Any]] = {}
    counts = (
        select(
            TASKS.c.specialist,
            TASKS.c.state,
            func.count(),
            func.coalesce(func.sum(TASKS.c.cost), 0.0),
        )
        .where(*where)
        .group_by(TASKS.c.specialist, TASKS.c.state)
    )
    for spec, state, n, cost in conn.execute(counts):
        entry = summary.setdefault(
            spec,
            {
                "tasks": 0,
                "succeeded": 0,
                "failed": 0,
                "success_rate": None,
                "cost": 0.0,
                "last_latency_ms": None,
                "p50_ms": None,
            },
        )
        entry["tasks"] += int(n)
        entry["cost"] += float(cost)
        if state in _FINISHED:
            entry[state] += int(n)
    durations = conn.execute(
        select(TASKS.c.specialist, TASKS.c.duration_ms)
        .where(*where, TASKS.c.state.in_(_FINISHED), TASKS.c.duration_ms.is_not(None))
        .order_by(TASKS.c.finished_at, TASKS.c.id)
    )
    per: dict[str, list[float]] = defaultdict(list)
    for spec, duration in durations:
        per[spec].append(float(duration))
    for spec, entry in summary.items():
        done = entry["succeeded"] + entry["failed"]
        entry["success_rate"] = entry["succeeded"] / done if done else None
        if per.get(spec):
            entry["last_latency_ms"] = per[spec][-1]
            entry["p50_ms"] = statistics.median(per[spec])
    return summary

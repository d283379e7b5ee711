"""Task rows and their files, as Core statements run on the writer thread.

These functions take an open :class:`~sqlalchemy.engine.Connection` (inside the writer's
transaction) and plain dicts, never ORM objects, and read back
:class:`~app.engine.store.rows.TaskRecord` values: Core ``insert()``/``update()`` with cached
compiled statements is several times cheaper than the ORM unit of work, and the dispatcher
calls ``insert_task``/``update_task``/``finish_task`` for every task.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection

from app.engine.core.errors import BadInput, NotFound
from app.engine.store.models import table
from app.engine.store.rows import FileRecord, TaskRecord

__all__ = [
    "TASK_FIELDS",
    "add_files",
    "finish_task",
    "get_task",
    "insert_task",
    "list_tasks",
    "tasks_in_states",
    "update_task",
    "validate_task_fields",
]

TASKS = table("tasks")
INPUTS = table("task_inputs")
ARTIFACTS = table("artifacts")
BLOBS = table("blobs")

TASK_FIELDS = frozenset(c.name for c in TASKS.columns)
_FILE_FIELDS = ("name", "sha256", "bytes", "mime")
_DEFAULT_MIME = "application/octet-stream"

# Column-set -> UPDATE statement, so each shape is built (and compiled) once.
_UPDATE_BY_ID: dict[tuple[str, ...], Any] = {}
# Built once: constructing a statement costs about as much as executing it.
_INSERT_TASK = insert(TASKS)
_INSERT_FILE = {"inputs": insert(INPUTS), "artifacts": insert(ARTIFACTS)}
_INSERT_BLOB = insert(BLOBS)
_BLOB_BUMP = update(BLOBS).where(BLOBS.c.sha256 == bindparam("b_sha256")).values(refcount=BLOBS.c.refcount + 1)


def validate_task_fields(fields: Mapping[str, Any], *, allow_id: bool) -> dict[str, Any]:
    """Check column names and encode ``result`` (a dict) into ``result_json``.

    Done on the caller's thread so a programming error surfaces where it was made.
    """
    row = dict(fields)
    if "result" in row:
        result = row.pop("result")
        row["result_json"] = None if result is None else json.dumps(result, default=str)
    unknown = set(row) - TASK_FIELDS
    if not allow_id:
        unknown |= {"id"} & set(row)
    if unknown:
        raise BadInput(f"unknown task field(s): {', '.join(sorted(unknown))}")
    return row


def insert_task(conn: Connection, row: dict[str, Any]) -> None:
    """Insert a new task; ``id`` and ``text`` are required, the rest has defaults."""
    now = time.time()
    values = {"state": "queued", "created_at": now, **row}
    values.setdefault("updated_at", values["created_at"])
    conn.execute(_INSERT_TASK, values)


def _update_stmt(keys: tuple[str, ...]) -> Any:
    stmt = _UPDATE_BY_ID.get(keys)
    if stmt is None:
        stmt = update(TASKS).where(TASKS.c.id == bindparam("t_id")).values({k: bindparam("v_" + k) for k in keys})
        _UPDATE_BY_ID[keys] = stmt
    return stmt


def update_task(conn: Connection, task_id: str, fields: dict[str, Any]) -> None:
    """Set ``fields`` on a task (and ``updated_at``); :class:`NotFound` if it does not exist."""
    values = {"updated_at": time.time(), **fields}
    keys = tuple(sorted(values))
    params = {"t_id": task_id, **{"v_" + k: values[k] for k in keys}}
    if conn.execute(_update_stmt(keys), params).rowcount == 0:
        raise NotFound(f"no task with id {task_id!r}")


def _file_rows(task_id: str, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        missing = [k for k in ("name", "sha256", "bytes") if k not in row]
        if missing:
            raise BadInput(f"file row for task {task_id} lacks {', '.join(missing)}")
        out.append(
            {
                "task_id": task_id,
                "name": str(row["name"]),
                "sha256": str(row["sha256"]),
                "bytes": int(row["bytes"]),
                "mime": str(row.get("mime") or _DEFAULT_MIME),
            }
        )
    return out


def add_files(conn: Connection, kind: str, task_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Record input or artifact files of a task and count a reference on each blob."""
    file_rows = _file_rows(task_id, rows)
    if not file_rows:
        return 0
    conn.execute(_INSERT_FILE[kind], file_rows)
    now = time.time()
    for row in file_rows:
        bumped = conn.execute(_BLOB_BUMP, {"b_sha256": row["sha256"]}).rowcount
        if not bumped:
            conn.execute(
                _INSERT_BLOB,
                {"sha256": row["sha256"], "bytes": row["bytes"], "created_at": now, "refcount": 1},
            )
    return len(file_rows)


def finish_task(conn: Connection, task_id: str, fields: dict[str, Any], artifacts: Sequence[Mapping[str, Any]]) -> None:
    """Write a task's final fields and its artifacts in one step."""
    update_task(conn, task_id, fields)
    add_files(conn, "artifacts", task_id, artifacts)


def _files(conn: Connection, target: Any, task_id: str) -> list[FileRecord]:
    cols = [target.c[name] for name in _FILE_FIELDS]
    rows = conn.execute(select(*cols).where(target.c.task_id == task_id).order_by(target.c.id))
    return [FileRecord.from_row(r._mapping) for r in rows]


def get_task(conn: Connection, task_id: str) -> TaskRecord | None:
    """A task (``result`` decoded) with its ``inputs`` and ``artifacts``; None if unknown."""
    row = conn.execute(select(TASKS).where(TASKS.c.id == task_id)).first()
    if row is None:
        return None
    return TaskRecord.from_row(
        row._mapping,
        inputs=_files(conn, INPUTS, task_id),
        artifacts=_files(conn, ARTIFACTS, task_id),
    )


def list_tasks(
    conn: Connection,
    *,
    limit: int = 200,
    state: str | Sequence[str] | None = None,
    specialist: str | None = None,
    search: str | None = None,
    offset: int = 0,
    with_result: bool = True,
) -> list[TaskRecord]:
    """Newest tasks first, filtered; without their file lists (cheap for tables).

    ``with_result=False`` skips the result JSON (tables can be large) and gives ``result={}``.
    """
    columns = [c for c in TASKS.columns if with_result or c.name != "result_json"]
    stmt = select(*columns)
    if isinstance(state, str):
        stmt = stmt.where(TASKS.c.state == state)
    elif state is not None:
        stmt = stmt.where(TASKS.c.state.in_(list(state)))
    if specialist is not None:
        stmt = stmt.where(TASKS.c.specialist == specialist)
    if search:
        stmt = stmt.where(
            or_(
                TASKS.c.text.icontains(search, autoescape=True),
                TASKS.c.answer.icontains(search, autoescape=True),
                TASKS.c.id.icontains(search, autoescape=True),
            )
        )
    stmt = stmt.order_by(TASKS.c.created_at.desc(), TASKS.c.id.desc())
    stmt = stmt.limit(max(0, int(limit))).offset(max(0, int(offset)))
    return [TaskRecord.from_row(r._mapping) for r in conn.execute(stmt)]


def tasks_in_states(conn: Connection, states: Sequence[str]) -> list[TaskRecord]:
    """Tasks in any of ``states`` (oldest first) with their inputs, for reconciling after a crash."""
    stmt = select(TASKS).where(TASKS.c.state.in_(list(states))).order_by(TASKS.c.created_at)
    return [  # a re-queued task keeps its files
        TaskRecord.from_row(r._mapping, inputs=_files(conn, INPUTS, r.id)) for r in conn.execute(stmt).all()
    ]

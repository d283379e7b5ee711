"""Proposed new specialists, and the stored tasks they are clustered from, as Core statements.

Rows written are plain dicts; ``terms``, ``examples``, ``members`` and ``origins`` (Python
values) are encoded into their ``*_json`` columns here, and proposals are read back as
:class:`~app.engine.store.rows.ProposalRecord` with them decoded, so the layer above never sees
JSON text. The clustering and the rule that makes a proposal live in
:mod:`app.engine.improve.proposals`; this module only stores what it is told and reads the
tasks it asks for.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from app.engine.core.errors import BadInput, NotFound
from app.engine.store.models import table
from app.engine.store.rows import ProposalRecord, TaskRecord

__all__ = [
    "PROPOSAL_STATES",
    "candidate_task",
    "insert_proposal",
    "list_proposals",
    "proposal_row",
    "recent_candidates",
    "update_proposal",
]

PROPOSALS = table("proposals")
TASKS = table("tasks")

PROPOSAL_STATES = frozenset({"open", "accepted", "dismissed"})
_COLUMNS = frozenset(c.name for c in PROPOSALS.columns)
_JSON_FIELDS = {"terms": "{}", "examples": "[]", "members": "[]", "origins": "{}"}
# Whether a task was served well needs no result (which may be large).
_TASK_COLUMNS = tuple(c for c in TASKS.columns if c.name != "result_json")


def proposal_row(fields: Mapping[str, Any], *, new: bool) -> dict[str, Any]:
    """Check and encode proposal fields (on the caller's thread, so mistakes surface there)."""
    row = dict(fields)
    for name in _JSON_FIELDS:
        if name in row:
            value = row.pop(name)
            row[f"{name}_json"] = json.dumps(list(value) if isinstance(value, tuple) else value, sort_keys=True)
    unknown = set(row) - _COLUMNS
    if unknown:
        raise BadInput(f"unknown proposal field(s): {', '.join(sorted(unknown))}")
    if "state" in row and row["state"] not in PROPOSAL_STATES:
        raise BadInput(f"proposal state must be one of {', '.join(sorted(PROPOSAL_STATES))}")
    if new:
        missing = [k for k in ("id", "name", "title", "description", "state", "size") if k not in row]
        if missing:
            raise BadInput(f"a proposal row lacks {', '.join(missing)}")
        row.setdefault("created_at", time.time())
        row.setdefault("updated_at", row["created_at"])
        for name, default in _JSON_FIELDS.items():
            row.setdefault(f"{name}_json", default)
        for name, value in (("growth", 0), ("windows", 1), ("last_window", 0), ("scaffold_dir", ""), ("reason", "")):
            row.setdefault(name, value)
    return row


def insert_proposal(conn: Connection, row: dict[str, Any]) -> None:
    """Insert one proposal."""
    conn.execute(insert(PROPOSALS), row)


def update_proposal(conn: Connection, proposal_id: str, fields: dict[str, Any]) -> None:
    """Set fields on a proposal (and ``updated_at`` unless given); :class:`NotFound` when unknown."""
    values = {"updated_at": time.time(), **fields}
    done = conn.execute(update(PROPOSALS).where(PROPOSALS.c.id == proposal_id).values(values))
    if done.rowcount == 0:
        raise NotFound(f"no proposal {proposal_id!r}")


def list_proposals(conn: Connection, state: str | None = None) -> list[ProposalRecord]:
    """Proposals (all, or in one state), oldest first, with their JSON fields decoded."""
    stmt = select(PROPOSALS).order_by(PROPOSALS.c.created_at, PROPOSALS.c.id)
    if state is not None:
        stmt = stmt.where(PROPOSALS.c.state == state)
    return [ProposalRecord.from_row(r._mapping) for r in conn.execute(stmt)]


def candidate_task(conn: Connection, task_id: str) -> TaskRecord | None:
    """One task, without its result or files, to judge whether it was served well."""
    row = conn.execute(select(*_TASK_COLUMNS).where(TASKS.c.id == task_id)).first()
    return None if row is None else TaskRecord.from_row(row._mapping)


def recent_candidates(conn: Connection, *, low_confidence: float, limit: int) -> list[TaskRecord]:
    """The newest ``limit`` finished tasks that failed or routed below ``low_confidence``, oldest first.

    Read without their results or files.
    """
    finished = TASKS.c.state.in_(("succeeded", "failed"))
    unserved = or_(
        TASKS.c.state == "failed",
        and_(TASKS.c.route_confidence.is_not(None), TASKS.c.route_confidence < low_confidence),
    )
    stmt = select(*_TASK_COLUMNS).where(finished, unserved).order_by(TASKS.c.created_at.desc()).limit(limit)
    rows = [TaskRecord.from_row(r._mapping) for r in conn.execute(stmt)]
    rows.reverse()
    return rows

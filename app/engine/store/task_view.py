"""The one mapping from a stored task (a :class:`TaskRecord`) to a :class:`TaskView`."""

from __future__ import annotations

from typing import Any

from app.engine.core.views import ArtifactView, TaskView
from app.engine.store.blobs import BlobStore
from app.engine.store.rows import FileRecord, TaskRecord

__all__ = ["task_view"]


def _input(item: FileRecord) -> dict[str, Any]:
    """An input file as the view lists it (``mime`` only when it is known)."""
    out: dict[str, Any] = {"name": item.name, "sha256": item.sha256, "bytes": item.bytes}
    if item.mime is not None:
        out["mime"] = item.mime
    return out


def task_view(record: TaskRecord, blobs: BlobStore) -> TaskView:
    """A :class:`TaskView` from a task record (its artifacts' paths are in ``blobs``)."""
    result = record.result
    plan = result.get("plan")
    artifacts = [
        ArtifactView(name=a.name, path=str(blobs.path(a.sha256)), bytes=a.bytes, mime=a.mime or "")
        for a in record.artifacts
    ]
    return TaskView(
        id=record.id,
        state=record.state,
        text=record.text,
        specialist=record.specialist,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        duration_ms=record.duration_ms,
        attempt=record.attempt,
        container=record.container,
        router=record.router,
        route_confidence=record.route_confidence,
        path=record.path,
        answer=record.answer or "",
        data=result.get("data"),
        tables=result.get("tables") or [],
        operation=result.get("operation") or {},
        stdout=result.get("stdout") or "",
        stderr=result.get("stderr") or "",
        program=str(plan.get("program") or "") if isinstance(plan, dict) else "",
        error_kind=record.error_kind,
        error=record.error_message,
        cost=record.cost,
        inputs=[_input(i) for i in record.inputs],
        artifacts=artifacts,
    )

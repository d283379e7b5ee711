"""The one mapping from a stored task row (with ``inputs`` and ``artifacts``) to a TaskView."""

from __future__ import annotations

import json
from typing import Any

from app.engine.core.views import ArtifactView, TaskView
from app.engine.store.blobs import BlobStore

__all__ = ["task_view"]

def task_view(row: dict[str, Any], blobs: BlobStore) -> TaskView:
    """A :class:`TaskView` from a stored task row (with ``inputs`` and ``artifacts``)."""
    result: dict[str, Any] = row["result"] if isinstance(row.get("result"), dict) else {}
    if not result and row.get("result_json"):
        try:
            result = json.loads(row["result_json"])
        except (TypeError, ValueError):
            result = {}
    artifacts = [
        ArtifactView(name=a["name"], path=str(blobs.path(a["sha256"])), bytes=int(a["bytes"]), mime=a.get("mime") or "")
        for a in row.get("artifacts", [])
    ]
    return TaskView(
        id=row["id"], state=row["state"], text=row["text"], specialist=row.get("specialist"),
        created_at=float(row["created_at"]), started_at=row.get("started_at"), finished_at=row.get("finished_at"),
        duration_ms=row.get("duration_ms"), attempt=int(row.get("attempt") or 0), container=row.get("container"),
        router=row.get("router"), route_confidence=row.get("route_confidence"), path=row.get("path"),
        answer=row.get("answer") or "", data=result.get("data"), tables=result.get("tables") or [],
        operation=result.get("operation") or {}, stdout=result.get("stdout") or "", stderr=result.get("stderr") or "",
        program=str((result.get("plan") or {}).get("program") or "") if isinstance(result.get("plan"), dict) else "",
        error_kind=row.get("error_kind"), error=row.get("error_message"), cost=float(row.get("cost") or 0.0),
        inputs=list(row.get("inputs", [])), artifacts=artifacts,
    )


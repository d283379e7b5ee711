"""Crash recovery: tasks left unfinished by an engine that died are never silently lost."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.engine.dispatch import MAX_ATTEMPTS, InputRecord
from app.engine.errors import EngineError
from app.engine.events import Decision, TaskStateChanged

if TYPE_CHECKING:
    from app.engine.orchestrator import Orchestrator

__all__ = ["reconcile", "stage_named_copies"]

log = logging.getLogger(__name__)


def reconcile(orch: Orchestrator) -> dict[str, int]:
    """Re-queue or fail every task an earlier engine left in queued/routed/running.

    A task whose attempts are used up is failed with the reason; one with no specialist yet
    is routed again. Returns counts by outcome.
    """
    assert orch.store is not None
    counts = {"requeued": 0, "failed": 0}
    rows = orch.store.tasks_in_states(["queued", "routed", "running"]).result(timeout=60)
    for row in rows:
        task_id = row["id"]
        specialist = row.get("specialist") or row.get("requested_specialist")
        attempts = int(row.get("attempt") or 0)
        reason = ""
        if specialist not in orch.catalogue.specs:
            reason = f"the engine stopped before this task was routed, and {specialist!r} is not in the catalogue" if specialist else ""
            if not reason:
                try:
                    decision = orch.routing.decide(row["text"], [i["name"] for i in row.get("inputs", [])], {})
                    specialist = decision.chosen if decision.chosen in orch.catalogue.specs else None
                except EngineError:
                    specialist = None
                if specialist is None:
                    reason = "the engine stopped before this task was routed and it cannot be routed now"
        elif attempts >= MAX_ATTEMPTS:
            reason = f"the engine stopped while the task ran (attempt {attempts} of {MAX_ATTEMPTS})"
        if reason or specialist is None:
            orch.store.update_task(task_id, state="failed", error_kind="engine_restart", error_message=reason, finished_at=time.time())
            orch.bus.publish(TaskStateChanged(task_id=task_id, state="failed", error=reason))
            counts["failed"] += 1
            continue
        inputs = [InputRecord(name=i["name"], sha256=i["sha256"], bytes=int(i["bytes"])) for i in row.get("inputs", [])]
        orch.bus.publish(Decision(kind="reconcile", subject=task_id, reason=f"left {row['state']} by an earlier run: re-queued on {specialist}"))
        orch._dispatch(task_id, row["text"], orch.catalogue.specs[specialist], inputs, float(row["created_at"]), row.get("timeout_s"), None, attempt=attempts)
        counts["requeued"] += 1
    return counts


def stage_named_copies(orch: Orchestrator, task_id: str, inputs: list[dict[str, Any]], files: list[Path]) -> list[Path]:
    """Copies of stored inputs under their original names, for re-running a task."""
    folder = orch.settings.data_dir / "rerun" / task_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    out = []
    for meta, blob in zip(inputs, files, strict=True):
        dest = folder / meta["name"]
        shutil.copyfile(blob, dest)
        out.append(dest)
    return out

"""Crash recovery: tasks left unfinished by an engine that died are never silently lost."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from app.engine.core.errors import EngineError
from app.engine.core.events import Decision, EventBus, TaskStateChanged
from app.engine.core.specs import Catalogue, SpecialistSpec
from app.engine.core.states import TaskState
from app.engine.core.views import RouteView
from app.engine.store import Store
from app.engine.tasks.dispatch import MAX_ATTEMPTS, InputRecord


class Redispatch(Protocol):
    """Queue an already stored task again (the facade's ``dispatch_stored``)."""

    def __call__(
        self,
        task_id: str,
        text: str,
        spec: SpecialistSpec,
        inputs: list[InputRecord],
        created_at: float,
        timeout_s: float | None,
        route: RouteView | None,
        attempt: int = 0,
    ) -> object:
        """Queue the task; returns a handle the caller may ignore."""
        ...


__all__ = ["Redispatch", "reconcile", "stage_named_copies"]

log = logging.getLogger(__name__)


def reconcile(
    store: Store,
    catalogue: Catalogue,
    bus: EventBus,
    decide: Callable[[str, list[str]], RouteView],
    redispatch: Redispatch,
) -> dict[str, int]:
    """Re-queue or fail every task an earlier engine left in queued/routed/running.

    A task whose attempts are used up is failed with the reason; one with no specialist yet
    is routed again. Returns counts by outcome.
    """
    counts = {"requeued": 0, "failed": 0}
    rows = store.tasks_in_states([TaskState.QUEUED, TaskState.ROUTED, TaskState.RUNNING]).result(timeout=60)
    for row in rows:
        task_id = row.id
        specialist = row.specialist or row.requested_specialist
        attempts = row.attempt
        reason = ""
        if specialist not in catalogue.specs:
            reason = (
                f"the engine stopped before this task was routed, and {specialist!r} is not in the catalogue"
                if specialist
                else ""
            )
            if not reason:
                try:
                    decision = decide(row.text, [i.name for i in row.inputs])
                    specialist = decision.chosen if decision.chosen in catalogue.specs else None
                except EngineError:
                    specialist = None
                if specialist is None:
                    reason = "the engine stopped before this task was routed and it cannot be routed now"
        elif attempts >= MAX_ATTEMPTS:
            reason = f"the engine stopped while the task ran (attempt {attempts} of {MAX_ATTEMPTS})"
        if reason or specialist is None:
            store.update_task(
                task_id,
                state=TaskState.FAILED,
                error_kind="engine_restart",
                error_message=reason,
                finished_at=time.time(),
            )
            bus.publish(TaskStateChanged(task_id=task_id, state=TaskState.FAILED, error=reason))
            counts["failed"] += 1
            continue
        inputs = [InputRecord(name=i.name, sha256=i.sha256, bytes=i.bytes) for i in row.inputs]
        bus.publish(
            Decision(
                kind="reconcile",
                subject=task_id,
                reason=f"left {row.state} by an earlier run: re-queued on {specialist}",
            )
        )
        redispatch(
            task_id,
            row.text,
            catalogue.specs[specialist],
            inputs,
            row.created_at,
            row.timeout_s,
            None,
            attempt=attempts,
        )
        counts["requeued"] += 1
    return counts


def stage_named_copies(data_dir: Path, task_id: str, inputs: list[dict[str, Any]], files: list[Path]) -> list[Path]:
    """Copies of stored inputs under their original names, for re-running a task."""
    folder = data_dir / "rerun" / task_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    out = []
    for meta, blob in zip(inputs, files, strict=True):
        dest = folder / meta["name"]
        shutil.copyfile(blob, dest)
        out.append(dest)
    return out

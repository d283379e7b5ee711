"""The persistent store: migrated database + single writer thread + blob store.

Every method queues its work on the writer thread (see :mod:`app.engine.store.writer`) and
returns a :class:`~concurrent.futures.Future`. Argument checks happen on the caller's thread
and raise :class:`BadInput` at once. Fire-and-forget calls (``update_task``, ``add_samples``...)
log their failures, since nobody may be waiting on the future.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from app.engine.core.errors import BadInput, DatabaseUnavailable
from app.engine.store import datasets, records, series, tasks, variants
from app.engine.store.blobs import BlobStore
from app.engine.store.engine import open_engine
from app.engine.store.migrate import upgrade_to_head
from app.engine.store.rows import (
    DatasetSources,
    DecisionRecord,
    ExampleRecord,
    FeedbackRecord,
    RoutingFeedbackRecord,
    TaskRecord,
    VariantOutcomeRecord,
    VariantRecord,
)
from app.engine.store.series import Point
from app.engine.store.writer import Writer

__all__ = ["Store"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def _log_failure(what: str, future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("store: %s failed: %s", what, future.exception())


class Store:
    """Open (and migrate) the database at ``url``; blobs live in ``data_dir / "blobs"``.

    Raises
    ------
    DatabaseUnavailable
        The database cannot be reached, is not a Switchboard database, or is newer than
        this code (then it is left untouched).
    """

    def __init__(self, url: str, *, data_dir: Path, max_batch: int = 500) -> None:
        self.data_dir = Path(data_dir)
        self.blobs = BlobStore(self.data_dir / "blobs")
        self.notice: str | None = None  # set when a damaged database was kept aside (store.damage)
        self.engine, self.where = open_engine(url)
        try:
            with self.engine.begin() as conn:
                upgrade_to_head(conn, self.where)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            reason = getattr(exc, "orig", None) or exc
            raise DatabaseUnavailable(
                f"cannot open {self.where}: {str(reason).strip().splitlines()[0]}",
                hint="check database_url and that the server is running",
            ) from exc
        except BaseException:
            self.engine.dispose()
            raise
        self._writer = Writer(self.engine, self.where, max_batch=max_batch)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self.engine.dialect.name)

    @property
    def writer(self) -> Writer:
        """The writer thread (batch statistics for benchmarks)."""
        return self._writer

    def run(self, fn: Callable[[Connection], T]) -> Future[T]:
        """Queue ``fn(connection)`` on the writer thread; resolved after its batch commits.

        ``fn`` runs inside a transaction under its own SAVEPOINT: if it raises, only its own
        changes are rolled back. Use Core statements, or ``Session(bind=connection)`` for ORM.
        Never wait on another store future from inside ``fn`` (that would deadlock).
        """
        return self._writer.submit(fn)

    def close(self) -> None:
        """Finish everything queued, stop the writer thread and release connections."""
        self._writer.close()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def forget(self, what: str, future: Future[T]) -> Future[T]:
        """Fire and forget ``future`` (a write of ours): a failure is logged as ``what`` failed."""
        future.add_done_callback(partial(_log_failure, what))
        return future

    # -- tasks ---------------------------------------------------------------------------

    def insert_task(self, row: Mapping[str, Any]) -> Future[None]:
        """Insert a task (``id`` and ``text`` required; ``result`` may be a dict)."""
        values = tasks.validate_task_fields(row, allow_id=True)
        if not values.get("id") or "text" not in values:
            raise BadInput("a task row needs an id and a text")
        return self.run(partial(tasks.insert_task, row=values))

    def update_task(self, task_id: str, **fields: Any) -> Future[None]:
        """Set fields on a task; fire and forget (failures are logged), order is preserved."""
        values = tasks.validate_task_fields(fields, allow_id=False)
        return self.forget(
            f"update of task {task_id}",
            self.run(partial(tasks.update_task, task_id=task_id, fields=values)),
        )

    def finish_task(
        self,
        task_id: str,
        fields: Mapping[str, Any],
        artifacts: Sequence[Mapping[str, Any]] = (),
    ) -> Future[None]:
        """Write a task's final state and its artifact rows together."""
        values = tasks.validate_task_fields(fields, allow_id=False)
        items = [dict(a) for a in artifacts]
        return self.run(partial(tasks.finish_task, task_id=task_id, fields=values, artifacts=items))

    def get_task(self, task_id: str) -> Future[TaskRecord | None]:
        """A task with ``result`` (decoded), ``inputs`` and ``artifacts``; None if unknown."""
        return self.run(partial(tasks.get_task, task_id=task_id))

    def list_tasks(
        self,
        limit: int = 200,
        state: str | Sequence[str] | None = None,
        specialist: str | None = None,
        search: str | None = None,
        offset: int = 0,
        with_result: bool = True,
    ) -> Future[list[TaskRecord]]:
        """Newest tasks first; ``search`` matches id, text or answer, case-insensitively.

        ``with_result=False`` leaves out the (possibly large) result JSON: ``result`` is ``{}``.
        """
        return self.run(
            partial(
                tasks.list_tasks,
                limit=limit,
                state=state,
                specialist=specialist,
                search=search,
                offset=offset,
                with_result=with_result,
            )
        )

    def tasks_in_states(self, states: Sequence[str]) -> Future[list[TaskRecord]]:
        """Tasks in any of ``states`` with their inputs, oldest first (crash reconciliation)."""
        return self.run(partial(tasks.tasks_in_states, states=list(states)))

    def add_inputs(self, task_id: str, rows: Sequence[Mapping[str, Any]]) -> Future[int]:
        """Record a task's input files (``name``, ``sha256``, ``bytes``, ``mime``)."""
        items = [dict(r) for r in rows]
        return self.run(partial(tasks.add_files, kind="inputs", task_id=task_id, rows=items))

    # -- records -------------------------------------------------------------------------

    def add_samples(self, rows: Sequence[Mapping[str, Any]]) -> Future[int]:
        """Store container resource samples; fire and forget."""
        items = records.sample_rows(rows)
        return self.forget("storing samples", self.run(partial(records.add_samples, rows=items)))

    def prune_samples(self, older_than_ts: float) -> Future[int]:
        """Delete samples older than ``older_than_ts``; resolves to the number deleted."""
        return self.run(partial(records.prune_samples, older_than_ts=older_than_ts))

    def add_decision(
        self,
        kind: str,
        subject: str,
        reason: str,
        data: Mapping[str, Any] | None = None,
        ts: float | None = None,
    ) -> Future[None]:
        """Record an engine decision; fire and forget."""
        row = records.decision_row(kind, subject, reason, data, ts)
        return self.forget("storing a decision", self.run(partial(records.add_decision, row=row)))

    def recent_decisions(self, limit: int = 200, kinds: tuple[str, ...] = ()) -> Future[list[DecisionRecord]]:
        """The newest stored decisions first (optionally of some kinds only)."""
        return self.run(partial(records.recent_decisions, limit=limit, kinds=kinds))

    def add_feedback(
        self,
        task_id: str,
        kind: str,
        specialist: str | None = None,
        note: str = "",
        ts: float | None = None,
    ) -> Future[None]:
        """Record user feedback; an unknown task id fails the future with :class:`BadInput`."""
        row = records.feedback_row(task_id, kind, specialist, note, ts)
        return self.run(partial(records.add_feedback, row=row))

    def routing_feedback(self) -> Future[list[RoutingFeedbackRecord]]:
        """Every ``correct`` / ``wrong_specialist`` verdict with its task's text, oldest first."""
        return self.run(records.routing_feedback)

    def count_routing_feedback(self, since_ts: float | None = None) -> Future[int]:
        """How many of those verdicts came after ``since_ts`` (one cheap count)."""
        return self.run(partial(records.count_routing_feedback, since_ts=since_ts))

    def ping(self) -> Future[None]:
        """Resolves when the database answered a trivial query (raises what the driver raised)."""

        def probe(conn: Connection) -> None:
            conn.execute(text("select 1")).scalar()

        return self.run(probe)

    def list_feedback(self, since_ts: float | None = None) -> Future[list[FeedbackRecord]]:
        """Feedback oldest first, optionally since ``since_ts``."""
        return self.run(partial(records.list_feedback, since_ts=since_ts))

    def add_routing_decision(
        self,
        *,
        text: str,
        chosen: str,
        router: str,
        confidence: float,
        scores: Mapping[str, float],
        latency_ms: float,
        rationale: str = "",
        schema_violation: bool = False,
        task_id: str | None = None,
        ts: float | None = None,
    ) -> Future[None]:
        """Record a routing decision; fire and forget."""
        row = records.routing_row(
            text=text,
            chosen=chosen,
            router=router,
            confidence=confidence,
            scores=scores,
            latency_ms=latency_ms,
            rationale=rationale,
            schema_violation=schema_violation,
            task_id=task_id,
            ts=ts,
        )
        return self.forget("storing a routing decision", self.run(partial(records.add_routing_decision, row=row)))

    def add_golden_runs(self, rows: Sequence[Mapping[str, Any]]) -> Future[int]:
        """Record golden-case outcomes (``run_id``, ``specialist``, ``case_id``, ``passed``...)."""
        return self.run(partial(records.add_golden_runs, rows=records.golden_rows(rows)))

    def add_metric(self, name: str, subject: str, value: float, ts: float | None = None) -> Future[None]:
        """Record one point of any chartable figure; fire and forget."""
        row = {
            "ts": time.time() if ts is None else float(ts),
            "name": name,
            "subject": subject,
            "value": float(value),
        }
        return self.forget(f"storing metric {name}", self.run(partial(records.add_metric, row=row)))

    # -- variants and curated datasets (self-improvement) --------------------------------

    def add_variant(self, fields: Mapping[str, Any]) -> Future[None]:
        """Insert a variant (``id``, ``specialist``, ``version``, ``state``, ``base_model``...)."""
        row = variants.variant_row(fields, new=True)
        return self.run(partial(variants.insert_variant, row=row))

    def update_variants(self, changes: Sequence[tuple[str, Mapping[str, Any]]]) -> Future[None]:
        """Apply several variant updates atomically (all or none), in order."""
        items = [(vid, variants.variant_row(f, new=False)) for vid, f in changes]
        return self.run(partial(variants.update_variants, changes=items))

    def list_variants(self, specialist: str | None = None) -> Future[list[VariantRecord]]:
        """Variants with ``parameters``/``example_ids``/``replay`` decoded, by version."""
        return self.run(partial(variants.list_variants, specialist=specialist))

    def next_variant_version(self, specialist: str) -> Future[int]:
        """The version number a new variant of ``specialist`` gets."""
        return self.run(partial(variants.next_version, specialist=specialist))

    def add_variant_outcomes(self, rows: Sequence[Mapping[str, Any]]) -> Future[int]:
        """Record tasks run by variants (``variant_id``, ``specialist``, ``source``, ``success``)."""
        return self.run(partial(variants.add_outcomes, rows=variants.outcome_rows(rows)))

    def variant_outcomes(
        self, specialist: str, source: str | None = None, since_ts: float | None = None
    ) -> Future[list[VariantOutcomeRecord]]:
        """Outcomes of a specialist's variants, oldest first."""
        return self.run(partial(variants.list_outcomes, specialist=specialist, source=source, since_ts=since_ts))

    def dataset_sources(self, specialist: str, limit: int = 2000) -> Future[DatasetSources]:
        """Tasks, feedback and golden outcomes a specialist's examples are drawn from."""
        return self.run(partial(datasets.dataset_sources, specialist=specialist, limit=limit))

    def upsert_examples(self, specialist: str, rows: Sequence[Mapping[str, Any]]) -> Future[dict[str, int]]:
        """Store curated examples; removed ones stay removed. Resolves to counts."""
        items = datasets.example_rows(specialist, rows)
        return self.run(partial(datasets.upsert_examples, specialist=specialist, rows=items))

    def list_examples(self, specialist: str, include_removed: bool = False) -> Future[list[ExampleRecord]]:
        """A specialist's curated examples, newest first."""
        return self.run(partial(datasets.list_examples, specialist=specialist, include_removed=include_removed))

    def remove_example(self, specialist: str, example_id: str) -> Future[bool]:
        """Take an example out of a dataset for good (``NotFound`` when unknown)."""
        return self.run(partial(datasets.remove_example, specialist=specialist, example_id=example_id))

    # -- aggregates ----------------------------------------------------------------------

    def series(
        self,
        metric: str,
        since_ts: float,
        subject: str | None = None,
        bucket_s: float | None = None,
    ) -> Future[list[Point]]:
        """Chart points ``(ts, value, subject)``; metrics are described in :mod:`.series`."""
        if bucket_s is not None and bucket_s <= 0:
            raise BadInput("bucket_s must be positive")
        return self.run(partial(series.series, metric=metric, since_ts=since_ts, subject=subject, bucket_s=bucket_s))

    def specialist_summary(self, since_ts: float) -> Future[dict[str, dict[str, Any]]]:
        """Per specialist figures since ``since_ts``.

        Keys: tasks, succeeded, failed, success_rate, cost, last_latency_ms, p50_ms.
        """
        return self.run(partial(series.specialist_summary, since_ts=since_ts))

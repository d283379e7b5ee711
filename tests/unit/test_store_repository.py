"""Repository behaviour of the Store on SQLite.

``tests/integration/test_store_postgres.py`` runs these same tests against PostgreSQL by
importing them and overriding the ``store`` fixture, so every test here must only rely on the
``store`` fixture and be dialect-neutral.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from app.engine.core.errors import BadInput, DatabaseUnavailable, NotFound
from app.engine.store import FileRecord, Store, VariantOutcomeRecord, VariantRecord
from app.engine.store.models import table
from tests.unit.store_helpers import T0, add_task, count_rows


def _hold_writer(store: Store) -> tuple[threading.Event, Future[bool]]:
    """Occupy the writer thread until the returned gate is set, so later calls queue up."""
    started, gate = threading.Event(), threading.Event()

    def hold(_conn: Connection) -> bool:
        started.set()
        return gate.wait(10)

    future = store.run(hold)
    assert started.wait(5)
    return gate, future


def test_task_state_transitions_round_trip(store: Store) -> None:
    store.insert_task(
        {
            "id": "t1",
            "text": "integrate x^2",
            "requested_specialist": "numerical",
            "timeout_s": 60.0,
        }
    ).result(5)
    queued = store.get_task("t1").result(5)
    assert queued is not None
    assert (queued.state, queued.attempt, queued.cost) == ("queued", 0, 0.0)
    assert queued.created_at == queued.updated_at
    assert (queued.requested_specialist, queued.timeout_s, queued.result) == ("numerical", 60.0, {})

    store.update_task("t1", state="routed", specialist="numerical", router="fast", route_confidence=0.9)
    store.update_task("t1", state="running", container="sb-numerical-1", attempt=1, started_at=T0)
    store.add_inputs("t1", [{"name": "a.csv", "sha256": "b" * 64, "bytes": 10, "mime": "text/csv"}])
    store.finish_task(
        "t1",
        {
            "state": "succeeded",
            "finished_at": T0 + 1.5,
            "duration_ms": 1500.0,
            "answer": "9",
            "path": "explicit",
            "cost": 0.25,
            "result": {"data": {"value": 9.0}, "tables": [], "stdout": "ok"},
        },
        [{"name": "chart.png", "sha256": "c" * 64, "bytes": 2048, "mime": "image/png"}],
    ).result(5)

    task = store.get_task("t1").result(5)
    assert task is not None
    assert task.state == "succeeded"
    assert (task.specialist, task.router, task.route_confidence) == ("numerical", "fast", 0.9)
    assert (task.container, task.attempt, task.started_at) == ("sb-numerical-1", 1, T0)
    assert (task.finished_at, task.duration_ms, task.cost) == (T0 + 1.5, 1500.0, 0.25)
    assert (task.answer, task.path) == ("9", "explicit")
    assert task.result == {"data": {"value": 9.0}, "tables": [], "stdout": "ok"}
    assert task.updated_at >= task.created_at
    assert task.inputs == (FileRecord(name="a.csv", sha256="b" * 64, bytes=10, mime="text/csv"),)
    assert task.artifacts == (FileRecord(name="chart.png", sha256="c" * 64, bytes=2048, mime="image/png"),)
    assert store.get_task("nope").result(5) is None


def test_blob_refcounts_follow_file_rows(store: Store) -> None:
    add_task(store, "a")
    add_task(store, "b")
    row = {"name": "x.csv", "sha256": "d" * 64, "bytes": 7}
    store.add_inputs("a", [row]).result(5)
    store.add_inputs("b", [row]).result(5)
    blobs = table("blobs")
    refs = store.run(lambda c: c.execute(select(blobs.c.sha256, blobs.c.refcount, blobs.c.bytes)).all())
    assert [tuple(r) for r in refs.result(5)] == [("d" * 64, 2, 7)]


def test_bad_calls_fail_clearly(store: Store) -> None:
    add_task(store, "t1")
    with pytest.raises(BadInput, match="unknown task field"):
        store.update_task("t1", colour="red")
    with pytest.raises(BadInput, match="needs an id"):
        store.insert_task({"text": "no id"})
    with pytest.raises(BadInput, match="refused"):
        store.insert_task({"id": "t1", "text": "duplicate"}).result(5)
    with pytest.raises(NotFound, match="no task with id 'ghost'"):
        store.update_task("ghost", state="running").result(5)
    with pytest.raises(BadInput, match="refused"):  # foreign key: feedback on an unknown task
        store.add_feedback("ghost", "correct").result(5)
    with pytest.raises(BadInput, match="feedback kind"):
        store.add_feedback("t1", "great")
    assert store.get_task("t1").result(5).text == "task t1"


def test_list_tasks_filters_orders_and_pages(store: Store) -> None:
    for i in range(6):
        add_task(
            store,
            f"t{i}",
            created_at=T0 + i,
            state="succeeded" if i % 2 else "failed",
            specialist="numerical" if i < 3 else "database",
        )
    store.update_task("t4", answer="Total is 100% correct").result(5)
    store.insert_task({"id": "u1", "text": "Plot SALES by month", "created_at": T0 + 10}).result(5)

    assert [t.id for t in store.list_tasks().result(5)] == [
        "u1",
        "t5",
        "t4",
        "t3",
        "t2",
        "t1",
        "t0",
    ]
    assert [t.id for t in store.list_tasks(limit=2, offset=1).result(5)] == ["t5", "t4"]
    store.update_task("t5", result={"tables": [{"rows": [[1]]}]}).result(5)
    assert store.list_tasks(limit=1, offset=1).result(5)[0].result == {"tables": [{"rows": [[1]]}]}
    assert store.list_tasks(limit=1, offset=1, with_result=False).result(5)[0].result == {}
    assert [t.id for t in store.list_tasks(state="failed").result(5)] == ["t4", "t2", "t0"]
    assert [t.id for t in store.list_tasks(state=["queued", "failed"], specialist="database").result(5)] == ["t4"]
    assert [t.id for t in store.list_tasks(search="sales").result(5)] == ["u1"]
    assert [t.id for t in store.list_tasks(search="100%").result(5)] == ["t4"]  # % is literal
    assert store.list_tasks(search="1_0").result(5) == []  # _ is literal too
    assert [t.id for t in store.tasks_in_states(["queued", "failed"]).result(5)] == [
        "t0",
        "t2",
        "t4",
        "u1",
    ]


def test_group_commit_failing_item_rolls_back_only_itself(store: Store) -> None:
    tasks = table("tasks")
    gate, blocker = _hold_writer(store)
    batches_before = store.writer.batches

    def insert_then_fail(conn: object) -> None:
        conn.execute(
            tasks.insert(),
            {"id": "bad", "text": "x", "created_at": T0, "updated_at": T0, "state": "queued"},
        )  # type: ignore[attr-defined]
        raise ValueError("boom")

    first = store.insert_task({"id": "ok1", "text": "first"})
    failing = store.run(insert_then_fail)
    last = store.insert_task({"id": "ok2", "text": "last"})
    gate.set()

    assert blocker.result(5) is True
    assert first.result(5) is None
    assert last.result(5) is None
    with pytest.raises(ValueError, match="boom"):
        failing.result(5)
    # The three queued items ran as ONE batch (one transaction, one commit) after the blocker's.
    assert store.writer.batches == batches_before + 2
    ids = {t.id for t in store.list_tasks().result(5)}
    assert ids == {"ok1", "ok2"}


def test_sixteen_concurrent_writers_lose_nothing_and_keep_order(store: Store) -> None:
    per_thread, threads = 25, 16
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(per_thread):
                task_id = f"w{n:02d}-{i:03d}"
                store.insert_task({"id": task_id, "text": "work", "specialist": f"s{n % 4}"}).result(10)
                for attempt in range(1, 6):  # fire and forget; the last one must win
                    store.update_task(task_id, state="running", attempt=attempt)
                store.finish_task(task_id, {"state": "succeeded", "duration_ms": float(i)}, []).result(10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors
    rows = store.list_tasks(limit=10_000).result(10)
    assert len(rows) == per_thread * threads
    assert {r.state for r in rows} == {"succeeded"}
    assert {r.attempt for r in rows} == {5}
    assert store.writer.batches < store.writer.items  # group commit actually grouped


def test_close_drains_queue_and_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drain.db'}"
    store = Store(url, data_dir=tmp_path)
    add_task(store, "t")
    for i in range(200):
        store.add_metric("queue_depth", "engine", float(i), ts=T0 + i)
    store.close()
    store.close()  # idempotent
    assert not store.writer.thread.is_alive()
    with pytest.raises(DatabaseUnavailable, match="closed"):
        store.get_task("t")
    with Store(url, data_dir=tmp_path) as again:
        points = again.series("queue_depth", 0).result(5)
    assert [p[1] for p in points] == [float(i) for i in range(200)]


def test_records_round_trip(store: Store) -> None:
    add_task(store, "t1", specialist="numerical")
    store.add_decision("scale", "numerical", "queue above 10", {"to": 2}, ts=T0).result(5)
    store.add_routing_decision(
        text="integrate",
        chosen="numerical",
        router="fast",
        confidence=0.8,
        scores={"numerical": 0.8, "database": 0.1},
        latency_ms=1.2,
        task_id="t1",
        ts=T0,
        schema_violation=True,
    ).result(5)
    store.add_feedback("t1", "correct", ts=T0).result(5)
    store.add_feedback("t1", "bad_answer", note="wrong sign", ts=T0 + 100).result(5)
    feedback = store.list_feedback().result(5)
    assert [(f.kind, f.task_id, f.ts, f.note) for f in feedback] == [
        ("correct", "t1", T0, ""),
        ("bad_answer", "t1", T0 + 100, "wrong sign"),
    ]
    assert [f.note for f in store.list_feedback(since_ts=T0 + 50).result(5)] == ["wrong sign"]
    decisions, routing = table("decisions"), table("routing_decisions")
    d = store.run(lambda c: c.execute(select(decisions)).one()._mapping).result(5)
    assert (d["kind"], d["subject"], d["reason"], d["data_json"]) == (
        "scale",
        "numerical",
        "queue above 10",
        '{"to": 2}',
    )
    (decision,) = store.recent_decisions().result(5)
    assert (decision.kind, decision.subject, decision.ts, decision.data) == (
        "scale",
        "numerical",
        T0,
        {"to": 2},
    )
    assert store.recent_decisions(kinds=("reap",)).result(5) == []
    r = store.run(lambda c: c.execute(select(routing)).one()._mapping).result(5)
    assert (r["chosen"], r["schema_violation"], r["task_id"]) == ("numerical", True, "t1")
    assert (
        store.add_golden_runs(
            [{"run_id": "r1", "specialist": "numerical", "case_id": "n1", "passed": True, "ts": T0}]
        ).result(5)
        == 1
    )
    assert count_rows(store, "golden_runs") == 1


def test_variants_and_outcomes_read_back_as_typed_records(store: Store) -> None:
    store.add_variant(
        {
            "id": "numerical-v1",
            "specialist": "numerical",
            "version": 1,
            "state": "incumbent",
            "base_model": "m",
            "parameters": {"temperature": 0.2},
            "example_ids": ["t-1", "g-2"],
            "created_at": T0,
        }
    ).result(5)
    store.update_variants([("numerical-v1", {"replay": {"cases": 3}, "reason": "kept", "live_since": T0 + 1})]).result(
        5
    )
    (variant,) = store.list_variants("numerical").result(5)
    assert variant == VariantRecord(
        id="numerical-v1",
        specialist="numerical",
        version=1,
        state="incumbent",
        base_model="m",
        created_at=T0,
        updated_at=variant.updated_at,
        parameters={"temperature": 0.2},
        example_ids=("t-1", "g-2"),
        live_since=T0 + 1,
        reason="kept",
        replay={"cases": 3},
    )
    assert variant.updated_at > T0
    assert store.list_variants("database").result(5) == []
    store.add_variant_outcomes(
        [
            {
                "variant_id": "numerical-v1",
                "specialist": "numerical",
                "source": "live",
                "success": 1,
                "ts": T0,
                "task_id": "t1",
                "latency_ms": 12,
            },
            {
                "variant_id": "numerical-v1",
                "specialist": "numerical",
                "source": "replay",
                "success": False,
                "ts": T0 + 1,
            },
        ]
    ).result(5)
    assert store.variant_outcomes("numerical").result(5) == [
        VariantOutcomeRecord(
            variant_id="numerical-v1",
            ts=T0,
            source="live",
            success=True,
            task_id="t1",
            latency_ms=12.0,
        ),
        VariantOutcomeRecord(variant_id="numerical-v1", ts=T0 + 1, source="replay", success=False),
    ]
    assert len(store.variant_outcomes("numerical", source="live", since_ts=T0).result(5)) == 1


def test_unreadable_json_columns_read_as_documented(store: Store) -> None:
    add_task(store, "t1")
    store.update_task("t1", result_json="{not json").result(5)
    add_task(store, "t2")
    store.update_task("t2", result_json="[1, 2]").result(5)
    tasks = {t.id: t for t in store.list_tasks().result(5)}
    assert tasks["t1"].result == {"unreadable": "{not json"} and tasks["t1"].plan is None
    assert tasks["t2"].result == {"unreadable": "[1, 2]"}
    decisions = table("decisions")
    store.run(
        lambda c: c.execute(
            decisions.insert(),
            {"ts": T0, "kind": "scale", "subject": "s", "reason": "r", "data_json": "{oops"},
        )
    ).result(5)
    assert store.recent_decisions().result(5)[0].data == {}


def test_broken_transaction_fails_the_whole_batch_and_store_recovers(store: Store) -> None:
    gate, blocker = _hold_writer(store)

    def end_transaction_behind_the_stores_back(conn: Connection) -> None:
        conn.connection.cursor().execute("ROLLBACK")

    before = store.insert_task({"id": "lost1", "text": "queued before the breakage"})
    evil = store.run(end_transaction_behind_the_stores_back)
    after = store.insert_task({"id": "lost2", "text": "queued after it"})
    gate.set()
    assert blocker.result(5) is True
    for future in (before, evil, after):
        with pytest.raises(DatabaseUnavailable, match="writing to"):
            future.result(5)
    # Nothing of that batch is stored, and the next batch works normally.
    add_task(store, "fine")
    assert [t.id for t in store.list_tasks().result(5)] == ["fine"]

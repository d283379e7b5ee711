"""Chart series and specialist summaries aggregated by the Store, on known data (SQLite).

``tests/integration/test_store_postgres.py`` runs these same tests against PostgreSQL by
importing them and overriding the ``store`` fixture.
"""

from __future__ import annotations

from app.engine.store import Store
from tests.unit.store_helpers import T0, add_task, count_rows


def _samples(store: Store) -> None:
    rows = []
    for i in range(4):  # two per 60 s bucket
        rows.append(
            {
                "ts": T0 + 30 * i,
                "container": "sb-num-1",
                "specialist": "numerical",
                "cpu_percent": 10.0 * (i + 1),
                "memory_bytes": 1000 * (i + 1),
                "pids": 3,
            }
        )
        rows.append(
            {
                "ts": T0 + 30 * i,
                "container": "sb-db-1",
                "specialist": "database",
                "cpu_percent": 1.0,
                "memory_bytes": 500,
                "pids": 2,
            }
        )
    assert store.add_samples(rows).result(5) == 8


def test_series_from_samples(store: Store) -> None:
    _samples(store)
    raw = store.series("cpu_percent", T0, subject="sb-num-1").result(5)
    assert raw == [
        (T0, 10.0, "sb-num-1"),
        (T0 + 30, 20.0, "sb-num-1"),
        (T0 + 60, 30.0, "sb-num-1"),
        (T0 + 90, 40.0, "sb-num-1"),
    ]
    bucketed = store.series("memory_bytes", T0 + 30, bucket_s=60).result(5)
    assert bucketed == [
        (T0, 500.0, "sb-db-1"),
        (T0, 2000.0, "sb-num-1"),
        (T0 + 60, 500.0, "sb-db-1"),
        (T0 + 60, 3500.0, "sb-num-1"),
    ]
    by_specialist = store.series("cpu_percent", T0, subject="database", bucket_s=120).result(5)
    assert by_specialist == [(T0, 1.0, "sb-db-1")]
    assert store.prune_samples(T0 + 60).result(5) == 4
    assert count_rows(store, "samples") == 4


def _finished(
    store: Store,
    task_id: str,
    at: float,
    ms: float,
    cost: float,
    spec: str = "numerical",
    state: str = "succeeded",
) -> None:
    add_task(store, task_id, specialist=spec, created_at=at - 1)
    store.finish_task(task_id, {"state": state, "finished_at": at, "duration_ms": ms, "cost": cost}, []).result(5)


def test_series_from_tasks(store: Store) -> None:
    _finished(store, "a", T0 + 1, 100.0, 0.5)
    _finished(store, "b", T0 + 2, 300.0, 0.25)
    _finished(store, "c", T0 + 3, 200.0, 0.25, state="failed")
    _finished(store, "d", T0 + 130, 50.0, 1.0, spec="database")
    add_task(store, "e", specialist="numerical")  # still queued: counts nowhere
    store.update_task("e", finished_at=T0 + 5, duration_ms=9999.0).result(5)

    assert store.series("latency_ms", T0, bucket_s=60).result(5) == [
        (T0, 200.0, ""),
        (T0 + 120, 50.0, ""),
    ]
    assert store.series("latency_ms", T0, subject="database", bucket_s=60).result(5) == [(T0 + 120, 50.0, "database")]
    # Throughput and cost fill the empty bucket in between with zero.
    assert store.series("throughput", T0, bucket_s=60).result(5) == [
        (T0, 3 / 60, ""),
        (T0 + 60, 0.0, ""),
        (T0 + 120, 1 / 60, ""),
    ]
    assert store.series("cost", T0, bucket_s=60).result(5) == [
        (T0, 1.0, ""),
        (T0 + 60, 0.0, ""),
        (T0 + 120, 1.0, ""),
    ]
    assert store.series("cost", T0 + 100, subject="numerical", bucket_s=60).result(5) == []


def test_series_accuracy_and_metric_points(store: Store) -> None:
    add_task(store, "t1", specialist="numerical")
    add_task(store, "t2", specialist="database")
    store.add_golden_runs(
        [
            {
                "run_id": "r1",
                "specialist": "numerical",
                "case_id": f"n{i}",
                "passed": i < 3,
                "ts": T0 + i,
            }
            for i in range(4)
        ]
        + [
            {
                "run_id": "r2",
                "specialist": "numerical",
                "case_id": "n0",
                "passed": True,
                "ts": T0 + 61,
            }
        ]
    ).result(5)
    for kind, at in (("correct", T0), ("wrong_specialist", T0 + 1), ("correct", T0 + 2)):
        store.add_feedback("t1", kind, specialist="database" if kind != "correct" else None, ts=at).result(5)
    store.add_feedback("t2", "bad_answer", ts=T0).result(5)

    acc = store.series("accuracy", T0, subject="numerical", bucket_s=60).result(5)
    assert acc == [(T0, 2 / 3, "feedback"), (T0, 0.75, "golden"), (T0 + 60, 1.0, "golden")]
    everything = store.series("accuracy", T0, bucket_s=60).result(5)
    assert (T0, 0.5, "feedback") in everything

    for i, v in enumerate((1.0, 3.0, 5.0)):
        store.add_metric("schema_violations", "llm", v, ts=T0 + 20 * i).result(5)
    store.add_metric("schema_violations", "other", 100.0, ts=T0).result(5)
    assert store.series("schema_violations", T0, subject="llm").result(5) == [
        (T0, 1.0, "llm"),
        (T0 + 20, 3.0, "llm"),
        (T0 + 40, 5.0, "llm"),
    ]
    assert store.series("schema_violations", T0, bucket_s=60).result(5) == [
        (T0, 3.0, "llm"),
        (T0, 100.0, "other"),
    ]
    assert store.series("unknown_metric", T0).result(5) == []


def test_specialist_summary(store: Store) -> None:
    _finished(store, "a", T0 + 1, 100.0, 0.5)
    _finished(store, "b", T0 + 3, 300.0, 0.25)
    _finished(store, "c", T0 + 2, 200.0, 0.25, state="failed")
    _finished(store, "old", T0 - 1000, 5.0, 9.0)
    add_task(store, "q", specialist="numerical", created_at=T0 + 5)
    _finished(store, "d", T0 + 4, 50.0, 1.0, spec="database")

    summary = store.specialist_summary(T0 - 10).result(5)
    assert summary["numerical"] == {
        "tasks": 4,
        "succeeded": 2,
        "failed": 1,
        "success_rate": 2 / 3,
        "cost": 1.0,
        "last_latency_ms": 300.0,
        "p50_ms": 200.0,
    }
    assert summary["database"]["tasks"] == 1
    assert summary["database"]["success_rate"] == 1.0
    assert set(summary) == {"numerical", "database"}

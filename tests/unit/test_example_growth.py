"""Program success by example-bank size, from stored metric points."""

from __future__ import annotations

from pathlib import Path

from app.engine.store import Store
from app.engine.tasks.example_growth import EVAL_METRIC, LIVE_METRIC, growth, subject


def test_growth_groups_outcomes_and_eval_runs_by_bank_size(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}", data_dir=tmp_path) as store:
        for ts, value in [(1.0, 1.0), (2.0, 0.0), (3.0, 1.0)]:
            store.add_metric(LIVE_METRIC, subject("numerical", 8), value, ts)
        store.add_metric(LIVE_METRIC, subject("numerical", 10), 1.0, 4.0)
        store.add_metric(LIVE_METRIC, subject("database", 8), 0.0, 4.0)  # another specialist
        store.add_metric(EVAL_METRIC, subject("numerical", 8), 0.5, 5.0)
        store.add_metric(EVAL_METRIC, subject("numerical", 8), 0.7, 6.0)
        store.add_metric(EVAL_METRIC, subject("numerical", 12), 0.9, 7.0)
        live = store.series(LIVE_METRIC, 0.0).result(5)
        evals = store.series(EVAL_METRIC, 0.0).result(5)
    rows = growth("numerical", live, evals)
    assert [(r.examples, r.tasks, r.eval_runs) for r in rows] == [(8, 3, 2), (10, 1, 0), (12, 0, 1)]
    assert rows[0].success_rate is not None and abs(rows[0].success_rate - 2 / 3) < 1e-9
    assert rows[0].eval_accuracy == 0.7  # the latest run at that size
    assert rows[2].success_rate is None and rows[2].eval_accuracy == 0.9
    assert growth("numerical#x", live, evals) == []

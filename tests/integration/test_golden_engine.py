"""Explicit golden tasks of every specialist through the whole engine (store, dispatch, containers)."""

from __future__ import annotations

import time

import pytest

from app.engine.evaluation.runner import run_golden
from app.engine.orchestrator import Orchestrator

pytestmark = pytest.mark.docker


def test_every_explicit_golden_task_passes_through_the_engine(orch: Orchestrator) -> None:
    started = time.time()
    report = run_golden(orch, path="explicit")
    failures = [f"{c['specialist']}/{c['case_id']}: {c['detail']}" for c in report["cases"] if not c["passed"]]
    assert not failures, "\n".join(failures)
    assert set(report["per_specialist"]) == set(orch.catalogue.ids())
    assert all(paths["explicit"]["total"] >= 8 for paths in report["per_specialist"].values())
    # results are stored and feed the accuracy chart
    points = orch.series("accuracy", started - 1)
    golden = [p for p in points if p.subject == "golden"]
    assert golden and golden[-1].value == pytest.approx(1.0)

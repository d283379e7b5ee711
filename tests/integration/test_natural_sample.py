"""CI's sample of the natural-language suite: the first hold-out task of every specialist.

Real llama.cpp server, real containers, the same runner as ``switchboard eval natural`` and
``bench/programs.py`` (which runs the whole suite and reports the figures). The sample fails
when fewer than half of the specialists answer their task right: far below the measured
hold-out rate, so a regression of the model path shows here and a single miss does not.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.engine.core.config import Settings
from app.engine.evaluation.runner import run_golden
from app.engine.orchestrator import Orchestrator
from tests.integration.test_program_path import llama  # noqa: F401 - the fixture that requires the server

pytestmark = [pytest.mark.docker, pytest.mark.llama]


def test_one_hold_out_task_per_specialist(llama: object, engine_settings: Callable[..., Settings]) -> None:  # noqa: F811
    orch = Orchestrator(engine_settings())
    orch.start().result(timeout=300)
    try:
        parts = [run_golden(orch, sid, suite="natural", split="holdout", limit=1) for sid in orch.catalogue.ids()]
    finally:
        orch.close(remove_containers=True)
    cases = [c for p in parts for c in p["cases"]]
    assert len(cases) == len(orch.catalogue.ids()), "every specialist has a hold-out task"
    assert all(c["detail"] or c["passed"] for c in cases), "every miss says why"
    passed = sum(c["passed"] for c in cases)
    assert passed * 2 >= len(cases), [(c["case_id"], c["detail"][:120]) for c in cases if not c["passed"]]

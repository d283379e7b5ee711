"""Machine-learning specialist: train, cross-validate, evaluate and reuse scikit-learn models.

Typed commands (see ``ml_commands``) run directly; other text raises ``NeedsPlan`` and the
engine resends it with a plan ``{action, target, algorithm, model_name, ...}``. Models live in
the specialist's volume (``/data/models``) so later tasks can use them by name.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ml_actions import run_action
from ml_commands import ACTIONS, ALGORITHMS, parse_text
from ml_grounding import ground_plan, needs_inline_values
from ml_store import list_models
from switchboard_runtime.api import BadPlan, Result, SpecialistError, Task

__all__ = ["handle", "validate_plan", "warm"]

_PLAN_KEYS = {
    "action": str,
    "target": str,
    "algorithm": str,
    "model_name": str,
    "file": str,
    "task_type": str,
    "features": list,
    "k": int,
    "folds": int,
}
# Messages about names the planner chose: a wrong one is the plan's fault, not the user's.
_PLAN_FAULTS = (
    "column",
    "No saved model",
    "is not available",
    "Unknown algorithm",
    "is not a clustering algorithm",
    "Model name",
)


def warm() -> None:
    """Nothing to preload: scikit-learn is imported on first use to keep idle memory small."""


def validate_plan(plan: Any) -> dict[str, Any]:
    """Check the plan's shape; raise :class:`BadPlan` naming the field that is wrong."""
    if not isinstance(plan, dict):
        raise BadPlan("The plan must be a JSON object with an 'action'.")
    clean = {k: v for k, v in plan.items() if v not in (None, "", [])}
    if clean.get("action") not in ACTIONS:
        raise BadPlan(f"'action' must be one of {', '.join(ACTIONS)}; got {plan.get('action')!r}.")
    for key, value in clean.items():
        want = _PLAN_KEYS.get(key)
        if want is None:
            raise BadPlan(f"Unknown plan field {key!r}; allowed: {', '.join(_PLAN_KEYS)}.")
        if not isinstance(value, want) or isinstance(value, bool):
            raise BadPlan(f"Plan field {key!r} must be a {want.__name__}, got {value!r}.")
    if "algorithm" in clean and clean["algorithm"] not in ALGORITHMS:
        raise BadPlan(f"'algorithm' must be one of {', '.join(ALGORITHMS)}; got {clean['algorithm']!r}.")
    if clean.get("task_type") not in (None, "classification", "regression", "auto"):
        raise BadPlan("'task_type' must be classification, regression or auto.")
    if clean["action"] in ("train", "cross_validate") and "target" not in clean:
        raise BadPlan(f"Action {clean['action']!r} needs 'target' (the column to predict).")
    if clean["action"] in ("predict", "evaluate", "describe_model", "delete_model") and "model_name" not in clean:
        raise BadPlan(f"Action {clean['action']!r} needs 'model_name'.")
    return clean


def _columns(task: Task) -> list[str]:
    """The header of the first table input (empty when there is none or it cannot be read)."""
    for item in task.inputs:
        if item.name.lower().endswith((".csv", ".tsv", ".txt")):
            try:
                with open(item.path, encoding="utf-8-sig", errors="replace") as fh:
                    first = fh.readline()
            except OSError:
                return []
            sep = "\t" if first.count("\t") > first.count(",") else ","
            return [c.strip().strip('"') for c in first.split(sep)]
    return []


def handle(task: Task) -> Result:
    """Run a typed command or a plan against the task's files and the model store."""
    planned = task.plan is not None
    plan = validate_plan(task.plan) if planned else parse_text(task.text)
    if planned:  # a model wrote it: hold it to the task's words and the saved models
        saved = [str(m.get("name", "")) for m in list_models(task.data_dir)]
        plan = ground_plan(plan, task.text, saved, _columns(task))
        if needs_inline_values(plan, task.text):
            raise BadPlan(
                "the task asks for a prediction at values it states; a plan cannot carry them, so a program "
                "must fit the model and predict for those values"
            )
    os.environ.setdefault("JOBLIB_TEMP_FOLDER", tempfile.gettempdir())
    try:
        result = run_action(plan, task.inputs, task.data_dir, task.output_dir)
    except SpecialistError as exc:
        if planned and exc.kind == "bad_input" and any(s in exc.message for s in _PLAN_FAULTS):
            raise BadPlan(exc.message) from exc
        raise
    result.path = "planned" if planned else "explicit"
    return result

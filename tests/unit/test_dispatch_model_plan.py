"""A specialist whose program language is "plan": the model fills in its own operation first.

Over the fake runtime: the container asks for a plan (``needs_plan``), the planning model's
plan runs in the container, a rejected plan is tried once more with the reason, and only when
no valid plan came out is a program written and run in a sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.engine.core.errors import TaskFailed
from app.engine.core.specs import Planner, ProgramSpec, SpecialistSpec
from app.engine.tasks.dispatch import Dispatcher
from tests.unit.fake_runtime import FakeContainer, error, make_rig, make_spec, result

SCHEMA = {
    "type": "object",
    "properties": {"action": {"enum": ["train", "list"]}, "target": {"type": "string"}},
    "required": ["action"],
    "additionalProperties": False,
}


class PlanningCoder:
    """Hands out the scripted plans in order; records what it was told; writes one program."""

    def __init__(self, *plans: dict[str, Any] | Exception) -> None:
        self.plans = list(plans)
        self.feedback: list[str] = []
        self.programs = 0

    def plan(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs: Sequence[tuple[str, str]],
        *,
        feedback: str = "",
        timeout_s: float = 60.0,
    ) -> dict[str, Any]:
        self.feedback.append(feedback)
        item = self.plans.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def write(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs: Sequence[tuple[str, str]],
        *,
        attempt: int = 1,
        feedback: str = "",
        timeout_s: float = 120.0,
        style: str = "",
        overrides: Mapping[str, float] | None = None,
        failed_program: str = "",
    ) -> str:
        self.programs += 1
        return "print(7)\n"


def behaviour(container: FakeContainer, request: dict[str, Any]) -> dict[str, Any] | None:
    plan = request.get("plan")
    if request.get("program"):
        return result(request, "7")
    if plan is None:
        return error(request, "needs_plan", "no command recognised")
    if plan.get("target") == "nope":
        return error(request, "bad_plan", "the file has no column 'nope'")
    if plan.get("target") == "missing-model":
        return error(request, "bad_input", "no saved model named m1")
    return result(request, f"ran {json.dumps(plan, sort_keys=True)}")


def _spec(tmp_path: Path) -> SpecialistSpec:
    (tmp_path / "plan_schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    return make_spec("ml").model_copy(
        update={
            "folder": tmp_path,
            "planner": Planner(system_prompt="Turn the request into a plan."),
            "program": ProgramSpec(language="plan", libraries=("numpy",), guide="Write numpy code."),
        }
    )


def _run(tmp_path: Path, coder: PlanningCoder) -> tuple[Any, dict[str, Any]]:
    with make_rig(tmp_path, [_spec(tmp_path)], behaviour=behaviour) as rig:
        rig.dispatcher.close(wait=True)
        dispatcher = Dispatcher(rig.settings, rig.lifecycle, rig.store, rig.blobs, rig.bus, coder=coder)
        try:
            job = rig.job("train a model on it", specialist="ml")
            view = dispatcher.submit(job).result(30)
            return view, rig.stored(job.task_id)
        finally:
            dispatcher.close(wait=True)


def test_the_models_plan_runs_in_the_container(tmp_path: Path) -> None:
    coder = PlanningCoder({"action": "train", "target": "label"})
    view, row = _run(tmp_path, coder)
    assert view.state == "succeeded" and view.answer == 'ran {"action": "train", "target": "label"}'
    assert view.path == "planned" and coder.programs == 0
    assert row.result["plan"]["plans"] == [{"plan": {"action": "train", "target": "label"}, "problem": ""}]


def test_a_rejected_plan_is_tried_again_with_the_reason(tmp_path: Path) -> None:
    coder = PlanningCoder({"action": "train", "target": "nope"}, {"action": "train", "target": "label"})
    view, _row = _run(tmp_path, coder)
    assert view.state == "succeeded" and "label" in view.answer
    assert coder.feedback == ["", "the file has no column 'nope'"]


def test_a_refusal_about_the_data_stands_with_its_message(tmp_path: Path) -> None:
    coder = PlanningCoder(
        {"action": "train", "target": "missing-model"}, {"action": "train", "target": "missing-model"}
    )
    view, _row = _run(tmp_path, coder)
    assert view.state == "failed" and view.error_kind == "bad_input" and "m1" in (view.error or "")
    assert coder.programs == 0, "a program in a sandbox cannot reach the model store either"


def test_without_a_valid_plan_a_program_is_written(tmp_path: Path) -> None:
    bad = TaskFailed("the model's plan breaks the schema", kind="bad_plan")
    coder = PlanningCoder(bad, bad)
    view, row = _run(tmp_path, coder)
    assert coder.programs >= 1 and view.path == "program", (view.state, view.error)
    assert [p["plan"] for p in row.result["plan"]["plans"]] == [None, None]


def test_an_optional_field_out_of_bounds_is_left_out_not_the_whole_plan(tmp_path: Path) -> None:
    from app.engine.llm.plan_writer import write_plan

    schema = {
        "type": "object",
        "required": ["action"],
        "additionalProperties": False,
        "properties": {"action": {"enum": ["train"]}, "folds": {"type": "integer", "minimum": 2, "maximum": 20}},
    }
    spec = _spec(tmp_path)  # then its schema file is replaced by this one, with bounds
    (tmp_path / "plan_schema.json").write_text(json.dumps(schema), encoding="utf-8")

    class Chat:
        def __init__(self, reply: str) -> None:
            self.reply = reply

        def chat(self, model: str, messages: list[dict[str, str]], **kw: Any) -> str:
            return self.reply

    assert write_plan(Chat('{"action": "train", "folds": 5000000000000000}'), "m", spec, "t", []) == {"action": "train"}
    assert write_plan(Chat('{"action": "train", "folds": 5}'), "m", spec, "t", []) == {"action": "train", "folds": 5}
    try:
        write_plan(Chat('{"action": "predict"}'), "m", spec, "t", [])
    except TaskFailed as exc:
        assert exc.kind == "bad_plan"
    else:
        raise AssertionError("a wrong required field rejects the plan")

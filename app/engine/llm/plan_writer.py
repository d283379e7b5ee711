"""The planning model fills in a specialist's own operation as schema-valid JSON.

Some specialists do their work through operations a program in a throwaway sandbox cannot do:
the machine-learning specialist trains a model and keeps it in its model store, predicts with
a saved one, lists and deletes them. For those (``[program] language = "plan"``) the capable
planning model is first asked for a plan in the specialist's plan schema (held to the schema
by the backend's grammar), with the manifest's ``[planner]`` prompt and examples and the inputs'
exact shapes (column names and first rows), and the specialist's container runs it. This is the
planner of :mod:`app.engine.llm.planner` on the planning model instead of the small derived
routing model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from app.engine.core.errors import TaskFailed
from app.engine.core.schema import schema_errors
from app.engine.core.specs import SpecialistSpec
from app.engine.llm.chat import ChatService
from app.engine.llm.planner import grammar_schema
from app.engine.llm.value_lists import without_value_lists

__all__ = ["plan_messages", "write_plan"]

_RULES = (
    "Use only column names shown for the attached files; the target is the column the task wants predicted. "
    "Reply with the JSON plan only."
)


def plan_messages(
    spec: SpecialistSpec, text: str, inputs: Sequence[tuple[str, str]], feedback: str = ""
) -> list[dict[str, str]]:
    """The chat for one plan: the manifest's planner prompt and examples, then the task with its inputs."""
    assert spec.planner is not None
    msgs = [{"role": "system", "content": f"{spec.planner.system_prompt}\n{_RULES}"}]
    for example in spec.planner.examples:
        msgs.append({"role": "user", "content": example.task})
        msgs.append({"role": "assistant", "content": example.plan})
    user = text.strip()
    if inputs:
        user += "\n\nAttached files:\n" + "\n".join(
            f"--- {name}\n{without_value_lists(preview)}" for name, preview in inputs
        )
    if feedback:
        user += f"\n\nA previous plan for this task was rejected: {feedback[:500]}\nWrite a corrected plan."
    msgs.append({"role": "user", "content": user})
    return msgs


def _drop_bad_optional_fields(plan: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``plan`` without the optional top-level fields that break the schema.

    A grammar holds the reply to the schema's shape but not to every bound (a small model writes
    ``"folds": 5000000000000000``); an optional field it got wrong is left out, so the
    specialist uses its default, rather than the whole plan being rejected.
    """
    required = set(schema.get("required") or [])
    properties = schema.get("properties") or {}
    return {
        k: v
        for k, v in plan.items()
        if k in required or k not in properties or not schema_errors(v, properties[k], f"$.{k}")
    }


def write_plan(
    service: ChatService,
    model: str,
    spec: SpecialistSpec,
    text: str,
    inputs: Sequence[tuple[str, str]],
    *,
    feedback: str = "",
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """A plan valid against the specialist's schema, or ``TaskFailed(kind="bad_plan")``."""
    schema = spec.plan_schema()
    if schema is None or spec.planner is None:
        raise TaskFailed(f"{spec.id} has no plan schema to fill in", kind="unsupported")
    raw = service.chat(
        model,
        plan_messages(spec, text, inputs, feedback),
        format=grammar_schema(schema),
        options={"temperature": 0.0, "num_predict": spec.planner.num_predict},
        timeout_s=timeout_s,
    )
    try:
        plan = json.loads(raw.strip())
    except json.JSONDecodeError as exc:
        raise TaskFailed(f"the model's plan is not JSON ({exc.msg})", kind="bad_plan") from exc
    if not isinstance(plan, dict):
        raise TaskFailed("the model's plan is not a JSON object", kind="bad_plan")
    plan = _drop_bad_optional_fields(plan, schema)
    problems = schema_errors(plan, schema)
    if problems:
        raise TaskFailed(f"the model's plan breaks the schema: {'; '.join(problems[:3])}", kind="bad_plan")
    return plan

"""Turn a natural-language task into a schema-valid plan with the specialist's derived model.

The derived model ``switchboard-<id>`` carries the specialist's system prompt and few-shot
examples; the call is constrained with ``format=<plan schema>`` and the result is validated
again here (the small local model can still produce schema-shaped nonsense such as a wrong
enum value). One retry tells the model what was wrong; after that the task fails with
``bad_plan`` and each violation is reported through ``on_violation`` so the engine can store
it as the accuracy signal.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from app.engine.core.errors import OllamaUnavailable, TaskFailed
from app.engine.core.schema import schema_errors
from app.engine.core.specs import SpecialistSpec
from app.engine.llm.chat import ChatService

__all__ = ["Planner", "PlanService"]


class PlanService(ChatService, Protocol):
    """What the planner needs from :class:`~app.engine.llm.ollama_service.OllamaService`."""

    def ensure_derived_model(self, spec: SpecialistSpec) -> bool:
        """Create or update ``switchboard-<id>``."""
        ...


def _describe_inputs(inputs_meta: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for meta in inputs_meta[:10]:
        line = f"- {meta.get('name', '?')}"
        if meta.get("columns"):
            line += " (columns: " + ", ".join(str(c) for c in list(meta["columns"])[:40]) + ")"
        lines.append(line)
    return "\n".join(lines)


class Planner:
    """Asks a specialist's derived model for a plan and validates it.

    Parameters
    ----------
    service
        The Ollama service (or a fake with the same ``chat`` and ``ensure_derived_model``).
    on_violation
        Called as ``on_violation(spec_id, detail)`` for every rejected plan.
    """

    def __init__(self, service: PlanService, on_violation: Callable[[str, str], None] | None = None) -> None:
        self.service = service
        self.on_violation = on_violation or (lambda _spec, _detail: None)
        self._ready: set[str] = set()
        # One model call at a time: on a small CPU box parallel generations only slow each
        # other down until they all time out; queued plans wait here instead.
        self._gate = threading.Lock()

    def plan(
        self,
        spec: SpecialistSpec,
        text: str,
        inputs_meta: Sequence[Mapping[str, Any]] = (),
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """A plan dict valid against ``spec.plan_schema()``.

        Raises
        ------
        TaskFailed
            ``kind="unsupported"`` when the specialist has no planner, ``kind="bad_plan"``
            when two answers in a row violate the schema.
        OllamaUnavailable
            When the server does not answer (the caller reports it, nothing is retried).
        """
        schema = spec.plan_schema()
        if schema is None or spec.planner is None:
            raise TaskFailed(
                f"{spec.id} cannot plan natural-language tasks; give the exact operation", kind="unsupported"
            )
        is_up = getattr(self.service, "is_up", None)
        if is_up is not None and not is_up():  # a stopped or hung server: fail now, not at its timeout
            raise OllamaUnavailable(
                "the planner's model server does not answer", hint="start Ollama (`switchboard fix ollama`) and retry"
            )
        if spec.id not in self._ready:
            self.service.ensure_derived_model(spec)
            self._ready.add(spec.id)
        content = text.strip()
        if inputs_meta:
            content += "\nAttached files:\n" + _describe_inputs(inputs_meta)
        messages = [{"role": "user", "content": content}]
        options = {"temperature": spec.planner.temperature, "num_predict": spec.planner.num_predict}
        problem = ""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for attempt in (1, 2):
            wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._gate.acquire(timeout=wait):
                raise TaskFailed(
                    f"the planner model was busy with other plans for {timeout_s:g} s (the task's time limit)",
                    kind="timeout",
                )
            try:
                # the model call gives up when the task's time does, not at the server-wide timeout
                left = (
                    None if deadline is None else float(max(1, int(deadline - time.monotonic())))
                )  # whole s: 1 client each
                raw = self.service.chat(
                    spec.model_name, messages, format=grammar_schema(schema), options=options, timeout_s=left
                )
            finally:
                self._gate.release()
            plan, problem = self._parse(raw, schema)
            if plan is not None:
                return plan
            self.on_violation(spec.id, f"attempt {attempt}: {problem}")
            messages = messages + [
                {"role": "assistant", "content": raw.strip()[:2000]},
                {"role": "user", "content": f"That plan is invalid: {problem}. Answer again with corrected JSON only."},
            ]
        raise TaskFailed(f"{spec.id}: the model's plan was invalid twice ({problem})", kind="bad_plan")

    @staticmethod
    def _parse(raw: str, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        try:
            value = json.loads(raw.strip())
        except json.JSONDecodeError as exc:
            return None, f"not JSON ({exc.msg} at character {exc.pos})"
        if not isinstance(value, dict):
            return None, f"expected a JSON object, got {type(value).__name__}"
        problems = schema_errors(value, schema)
        if problems:
            return None, "; ".join(problems[:3])
        return value, ""


_GRAMMAR_UNSUPPORTED = ("pattern", "$schema", "format")


def grammar_schema(schema: Any) -> Any:
    """``schema`` without the keywords Ollama's grammar converter rejects.

    ``pattern`` gives HTTP 500 in Ollama 0.9.3; the full schema still validates the answer.
    """
    if isinstance(schema, dict):
        return {k: grammar_schema(v) for k, v in schema.items() if k not in _GRAMMAR_UNSUPPORTED}
    if isinstance(schema, list):
        return [grammar_schema(v) for v in schema]
    return schema

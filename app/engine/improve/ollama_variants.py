"""Variants on the real model server: their derived models and a replay runner that uses them.

A variant's model configuration becomes an Ollama model ``switchboard-<id>-v<n>`` made from
its base model with its system prompt, parameters and few-shot examples (each a user turn with
the example's task and an assistant turn with the plan that answered it; version 1 uses the
manifest's examples). :class:`PlanReplay` is the replay runner the engine uses: it asks the
variant's model for a plan of a recorded task, constrained by the specialist's plan schema.

What counts as success: the answer is a plan the schema accepts and, when the example is
``good`` and holds the plan that was run, it makes the same categorical choices (every
top-level field the schema restricts to an ``enum``, e.g. ``op``). This judges the model part
of a variant; the image part is exercised only by live traffic.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from app.engine.core.errors import BadInput
from app.engine.core.schema import schema_errors
from app.engine.core.specs import SpecialistSpec
from app.engine.improve.replay import ReplayOutcome
from app.engine.improve.variants import Variant
from app.engine.llm.chat import ChatService
from app.engine.llm.planner import grammar_schema
from app.engine.store.rows import ExampleRecord

__all__ = ["PlanReplay", "VariantModelService", "ensure_variant_model", "few_shot_messages", "model_options"]

_INT_OPTIONS = frozenset({"num_predict", "num_ctx", "top_k", "seed", "repeat_last_n"})


class VariantModelService(ChatService, Protocol):
    """What variants need from :class:`~app.engine.llm.ollama_service.OllamaService`."""

    def create_model(
        self,
        name: str,
        *,
        base: str,
        system: str,
        parameters: dict[str, Any],
        messages: list[dict[str, str]] | None = None,
    ) -> None:
        """Create or replace a derived model."""
        ...

    def delete(self, model: str) -> None:
        """Delete a model."""
        ...


def model_options(parameters: Mapping[str, float]) -> dict[str, Any]:
    """A variant's parameters as model options (counts as whole numbers)."""
    return {k: int(v) if k in _INT_OPTIONS else float(v) for k, v in parameters.items()}


def few_shot_messages(examples: Sequence[tuple[str, Any]]) -> list[dict[str, str]]:
    """User/assistant turns showing each example's task and its plan (``(text, plan)`` pairs)."""
    messages: list[dict[str, str]] = []
    for text, plan in examples:
        if not isinstance(plan, dict):
            continue
        messages.append({"role": "user", "content": text})
        messages.append({"role": "assistant", "content": json.dumps(plan, sort_keys=True)})
    return messages


def ensure_variant_model(
    service: VariantModelService,
    spec: SpecialistSpec,
    variant: Variant,
    examples: Mapping[str, ExampleRecord],
) -> str:
    """Create the variant's derived model; returns its name.

    ``examples`` maps example id -> curated example; a variant without example ids (version 1)
    gets the manifest's few-shot examples.
    """
    if variant.specialist != spec.id:
        raise BadInput(f"variant {variant.id} is not a variant of {spec.id}")
    if variant.example_ids:
        missing = [i for i in variant.example_ids if i not in examples]
        if missing:
            raise BadInput(f"variant {variant.id} names examples no longer in the dataset: {', '.join(missing)}")
        messages = few_shot_messages([(examples[i].text, examples[i].plan) for i in variant.example_ids])
    elif spec.planner is not None:
        messages = few_shot_messages([(e.task, json.loads(e.plan)) for e in spec.planner.examples])
    else:
        messages = []
    service.create_model(
        variant.model_name,
        base=variant.base_model,
        system=variant.system_prompt,
        parameters=model_options(variant.parameters),
        messages=messages,
    )
    return variant.model_name


class PlanReplay:
    """Replay runner: the variant's model plans a recorded task; see the module docstring.

    Models are created on first use of each variant (not timed) and listed in ``created`` so
    the caller can delete them (:meth:`cleanup`).
    """

    def __init__(
        self,
        service: VariantModelService,
        spec: SpecialistSpec,
        examples: Mapping[str, ExampleRecord],
        *,
        timeout_s: float | None = None,
    ) -> None:
        schema = spec.plan_schema()
        if schema is None:
            raise BadInput(f"{spec.id} has no planner: its variants cannot be replayed on plans")
        self.service = service
        self.spec = spec
        self.schema = schema
        self.examples = examples
        self.timeout_s = timeout_s
        self.created: list[str] = []
        self._lock = threading.Lock()
        props = schema.get("properties") or {}
        self.choice_fields = sorted(k for k, p in props.items() if isinstance(p, dict) and "enum" in p)

    def _model(self, variant: Variant) -> str:
        with self._lock:
            if variant.model_name not in self.created:
                ensure_variant_model(self.service, self.spec, variant, self.examples)
                self.created.append(variant.model_name)
            return variant.model_name

    def __call__(self, variant: Variant, example: ExampleRecord) -> ReplayOutcome:
        """Plan ``example`` with ``variant``'s model and judge the plan."""
        model = self._model(variant)
        start = time.perf_counter()
        raw = self.service.chat(
            model,
            [{"role": "user", "content": example.text}],
            format=grammar_schema(self.schema),
            options=model_options(variant.parameters),
            timeout_s=self.timeout_s,
        )
        latency = (time.perf_counter() - start) * 1000
        try:
            plan = json.loads(raw.strip())
        except ValueError:
            return ReplayOutcome(False, latency, "not JSON")
        if not isinstance(plan, dict):
            return ReplayOutcome(False, latency, "not a JSON object")
        problems = schema_errors(plan, self.schema)
        if problems:
            return ReplayOutcome(False, latency, "; ".join(problems[:2]))
        recorded = example.plan
        if example.label == "good" and isinstance(recorded, dict) and "program" not in recorded:
            differ = [f for f in self.choice_fields if f in recorded and plan.get(f) != recorded[f]]
            if differ:
                return ReplayOutcome(
                    False, latency, "chose " + ", ".join(f"{f}={plan.get(f)!r} not {recorded[f]!r}" for f in differ)
                )
        return ReplayOutcome(True, latency, "valid plan")

    def cleanup(self) -> None:
        """Delete the models this runner created (errors are ignored: best effort)."""
        for name in self.created:
            try:
                self.service.delete(name)
            except Exception:  # noqa: BLE001 - cleanup must not mask the caller's outcome
                pass
        self.created.clear()

"""Curated datasets: which stored evidence becomes an example, few-shot choice, JSONL export.

An example is one task text with what is known about it, labelled ``good`` (the right answer is
known), ``bad`` (known wrong) or ``routing`` (known to belong to this specialist, outcome not
judged). One example per task and per golden case, from the strongest evidence available:

1. **feedback** on the task: ``correct`` -> good, ``bad_answer`` -> bad (the latest verdict
   wins); ``wrong_specialist`` takes the task *out* of its specialist's dataset and puts it in
   the named specialist's as a ``routing`` example (source ``override``);
2. **golden runs**: the latest outcome of each golden/natural case (good if it passed), with the
   case's check as the expected result;
3. **task outcomes** without feedback: succeeded -> good; failed because of the specialist or its
   model -> bad (source ``schema_violation`` when the model's plan broke the schema twice).
   Failures that say nothing about the specialist (bad input, cancelled, Docker down, engine
   restart...) are left out.

Examples are stored (``dataset_examples``); the user can remove one and it stays removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.engine.store.rows import DatasetSources, ExampleRecord, FeedbackRecord, TaskRecord

__all__ = [
    "IGNORED_FAILURES",
    "build_examples",
    "load_cases",
    "select_few_shot",
    "to_jsonl",
]

# Failure kinds that are not the specialist's fault: such tasks teach nothing about a variant.
IGNORED_FAILURES = frozenset(
    {
        "bad_input",
        "not_routed",
        "busy",
        "cancelled",
        "container_died",
        "engine_restart",
        "unavailable",
        "version",
    }
)
_ANSWER_CHARS = 2000
_SOURCE_RANK = {"feedback": 0, "golden": 1, "outcome": 2, "override": 3, "schema_violation": 4}


def _task_example_id(task_id: str) -> str:
    return "t-" + task_id[:12]


def load_cases(folder: Path) -> dict[str, dict[str, Any]]:
    """Golden and natural cases of a specialist folder by id (``text``, ``plan``, ``check``).

    Lines that are not JSON objects with an id and a text are skipped: a broken suite line
    must not break curation (``switchboard eval`` reports it).
    """
    cases: dict[str, dict[str, Any]] = {}
    for name in ("golden.jsonl", "natural.jsonl"):
        path = folder / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                case = json.loads(line)
            except ValueError:
                continue
            if isinstance(case, dict) and case.get("id") and isinstance(case.get("text"), str):
                cases[str(case["id"])] = case
    return cases


def _task_fields(task: TaskRecord) -> dict[str, Any]:
    return {
        "text": task.text,
        "answer": (task.answer or "")[:_ANSWER_CHARS],
        "plan": task.plan,
        "task_id": task.id,
        "latency_ms": task.duration_ms,
    }


def build_examples(
    specialist: str, sources: DatasetSources, cases: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Examples of ``specialist`` to store, from ``Store.dataset_sources`` and its suite cases."""
    examples: dict[str, dict[str, Any]] = {}
    latest_feedback: dict[str, tuple[FeedbackRecord, TaskRecord]] = {}
    for feedback, task in sources.feedback:  # oldest first: the last one per task wins
        latest_feedback[task.id] = (feedback, task)
    decided: set[str] = set()
    for task_id, (feedback, task) in latest_feedback.items():
        kind, named = feedback.kind, feedback.specialist
        ours = task.specialist == specialist
        decided.add(task_id)
        base = {**_task_fields(task), "ts": feedback.ts}
        if kind == "wrong_specialist":
            if named == specialist and not ours:
                examples[_task_example_id(task_id)] = {
                    **base,
                    "source": "override",
                    "label": "routing",
                    "answer": "",
                    "plan": None,
                }
            continue  # a misrouted task of ours is not an example of ours
        if ours and kind in ("correct", "bad_answer"):
            examples[_task_example_id(task_id)] = {
                **base,
                "source": "feedback",
                "label": "good" if kind == "correct" else "bad",
            }
    for task in sources.tasks:
        task_id = task.id
        if task_id in decided or task.specialist != specialist:
            continue
        ts = task.finished_at or task.created_at or 0.0
        if task.state == "succeeded":
            examples[_task_example_id(task_id)] = {
                **_task_fields(task),
                "ts": ts,
                "source": "outcome",
                "label": "good",
            }
        elif task.state == "failed" and task.error_kind not in IGNORED_FAILURES:
            source = "schema_violation" if task.error_kind == "bad_plan" else "outcome"
            examples[_task_example_id(task_id)] = {
                **_task_fields(task),
                "ts": ts,
                "source": source,
                "label": "bad",
            }
    for run in sources.golden:
        case = cases.get(run.case_id)
        if case is None:  # the case left the suite: its text is unknown now
            continue
        examples["g-" + run.case_id] = {
            "text": str(case["text"]),
            "answer": "",
            "plan": case.get("plan"),
            "expected": case.get("check"),
            "case_id": run.case_id,
            "task_id": None,
            "latency_ms": run.duration_ms,
            "ts": run.ts,
            "source": "golden",
            "label": "good" if run.passed else "bad",
        }
    return [{"example_id": key, **value} for key, value in sorted(examples.items())]


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _plan_kind(example: ExampleRecord) -> str:
    plan = example.plan
    if isinstance(plan, dict):
        return str(plan.get("op") or plan.get("operation") or plan.get("kind") or "")
    return ""


def select_few_shot(examples: Sequence[ExampleRecord], k: int = 4) -> list[ExampleRecord]:
    """Up to ``k`` good examples for a variant's prompt, strongest evidence and variety first.

    Only ``good`` examples with a JSON-object plan qualify (a few-shot example shows the model a
    task and the plan that answered it; a model-written program is not a plan). Ranked by
    source (feedback, golden, outcome), then newest; near-duplicate texts count once, and a
    plan kind (``op``) already shown is passed over while others remain.
    """
    pool = [
        e
        for e in examples
        if e.label == "good" and isinstance(e.plan, dict) and "program" not in e.plan and not e.removed
    ]
    pool.sort(key=lambda e: (_SOURCE_RANK.get(e.source, 9), -e.ts, e.example_id))
    chosen: list[ExampleRecord] = []
    texts: set[str] = set()
    kinds: set[str] = set()
    for pass_ in (0, 1):  # first pass: new plan kinds only; second: fill up
        for e in pool:
            if len(chosen) >= k:
                return chosen
            norm = _norm(e.text)
            if norm in texts or (pass_ == 0 and _plan_kind(e) in kinds):
                continue
            chosen.append(e)
            texts.add(norm)
            kinds.add(_plan_kind(e))
    return chosen


def to_jsonl(examples: Iterable[ExampleRecord]) -> str:
    """One JSON object per line (``id``, ``specialist``, ``source``, ``label``, ``text``...)."""
    lines = []
    for e in examples:
        doc = {
            "id": e.example_id,
            "specialist": e.specialist,
            "source": e.source,
            "label": e.label,
            "text": e.text,
            "answer": e.answer,
            "plan": e.plan,
            "expected": e.expected,
            "task_id": e.task_id,
            "case_id": e.case_id,
            "latency_ms": e.latency_ms,
            "ts": e.ts,
        }
        lines.append(json.dumps(doc, ensure_ascii=False, sort_keys=True, default=str))
    return "".join(line + "\n" for line in lines)

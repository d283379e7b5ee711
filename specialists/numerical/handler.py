"""Numerical specialist: exact and numerical mathematics without any language model.

Explicit requests (``integrate x^2 from 0 to 3``) are recognised by regular expressions and
turned into a plan; natural language raises :class:`NeedsPlan` so the engine asks the
planner model for a plan in the ``plan_schema.json`` shape. Both paths run the same executors.

There is deliberately no ``warm()``: importing sympy costs ~50 MB of resident memory, and an
idle container should stay small; the first task pays the import instead (~1 s).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from num_ops import EXECUTORS
from num_parse import literal_list
from num_recognise import recognise
from switchboard_runtime.api import BadPlan, NeedsPlan, Result, SpecialistError, Task
from switchboard_runtime.files import check_input, find_input, read_csv

__all__ = ["handle"]

OPS = set(EXECUTORS) | {"statistics"}
_STATS = ("mean", "median", "std", "variance", "pstd", "pvariance", "sum", "min", "max", "count", "describe")
_NEEDS_EXPRESSION = {"evaluate", "integrate", "differentiate", "minimize", "ode"}


def handle(task: Task) -> Result:
    """Run a plan if one came with the task, else recognise the text or ask for a plan."""
    csv_input = find_input(task.inputs, ".csv", ".tsv", ".txt")
    if task.plan is not None:
        plan = validate_plan(task.plan)
        result = run(plan, task, csv_input)
        result.path = "planned"
        return result
    plan = recognise(task.text, has_csv=csv_input is not None)
    if plan is None:
        raise NeedsPlan(
            "This is not a mathematical expression or a recognised command such as "
            "'integrate x^2 from 0 to 3'; a plan is needed."
        )
    return run(plan, task, csv_input)


def run(plan: dict[str, Any], task: Task, csv_input: Any) -> Result:
    """Dispatch a valid plan to its executor."""
    if plan["op"] == "statistics":
        return _statistics(plan, csv_input)
    try:
        return EXECUTORS[plan["op"]](plan)
    except (SpecialistError, MemoryError):
        raise
    except (ZeroDivisionError, OverflowError) as exc:
        raise SpecialistError("bad_input", f"The computation is undefined: {exc}.") from None
    except NotImplementedError as exc:
        raise SpecialistError("unsupported", f"sympy cannot do this: {exc}") from None


def validate_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """Check a planner's plan against ``plan_schema.json`` by hand (no jsonschema in the image)."""
    if not isinstance(plan, dict):
        raise BadPlan("The plan must be a JSON object.")
    op = plan.get("op")
    if op not in OPS:
        raise BadPlan(f"'op' must be one of {sorted(OPS)}; got {op!r}.")
    for key in ("lower", "upper", "t0", "y0", "at"):
        value = plan.get(key)
        if value is not None and not isinstance(value, int | float | str):
            raise BadPlan(f"'{key}' must be a number or null.")
    if op in _NEEDS_EXPRESSION and not (isinstance(plan.get("expression"), str) and plan["expression"].strip()):
        raise BadPlan(f"op {op!r} needs a non-empty 'expression' string.")
    if op == "solve" and not (plan.get("expression") or plan.get("equations")):
        raise BadPlan("op 'solve' needs 'expression' (an equation) or 'equations'.")
    if op == "matrix" and not plan.get("matrix"):
        raise BadPlan("op 'matrix' needs 'matrix' (a list of rows).")
    if op == "ode" and plan.get("y0") is None:
        raise BadPlan("op 'ode' needs the initial value 'y0'.")
    if op == "fft" and not plan.get("values"):
        raise BadPlan("op 'fft' needs 'values' (a list of numbers).")
    if op == "statistics" and not (plan.get("values") or plan.get("column")):
        raise BadPlan("op 'statistics' needs 'values' or a CSV 'column'.")
    if plan.get("variable") is not None and not isinstance(plan["variable"], str):
        raise BadPlan("'variable' must be a string.")
    return plan


def _statistics(plan: dict[str, Any], csv_input: Any) -> Result:
    stat = plan.get("stat") or "describe"
    if stat not in _STATS:
        raise SpecialistError("bad_input", f"Unknown statistic {stat!r}; use one of {', '.join(_STATS)}.")
    if plan.get("column"):
        if csv_input is None:
            raise SpecialistError("bad_input", "Statistics on a column need a CSV file dropped with the task.")
        check_input(csv_input, [".csv", ".tsv", ".txt"])
        data = read_csv(csv_input)
        raw = data.column(str(plan["column"]))
        values = []
        for row_no, cell in enumerate(raw, start=2):
            cell = cell.strip()
            if not cell:
                continue
            try:
                values.append(float(cell.replace(",", ".") if data.delimiter != "," else cell))
            except ValueError:
                raise SpecialistError(
                    "bad_input", f"{data.name} row {row_no}, column {plan['column']!r}: {cell!r} is not a number."
                ) from None
        source = f"{data.name}:{plan['column']}"
    else:
        raw_values = plan["values"]
        values = literal_list(raw_values) if isinstance(raw_values, str) else list(raw_values)
        values = [float(v) for v in values]
        source = "values"
    if not values:
        raise SpecialistError("bad_input", f"No numbers found in {source}.")
    summary = {
        "count": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "variance": statistics.variance(values) if len(values) > 1 else 0.0,
        "pstd": statistics.pstdev(values),
        "pvariance": statistics.pvariance(values),
        "sum": math.fsum(values),
        "min": min(values),
        "max": max(values),
    }
    op_text = f"statistics.{stat}({source})"
    if stat == "describe":
        answer = ", ".join(f"{k} = {v:.10g}" for k, v in summary.items())
        return Result(
            answer=answer, data={"value": summary["mean"], **summary}, operation_kind="python", operation_text=op_text
        )
    value = summary[stat]
    named = {
        "std": "sample standard deviation (n - 1)",
        "variance": "sample variance (n - 1)",
        "pstd": "population standard deviation (n)",
        "pvariance": "population variance (n)",
    }.get(stat, stat)
    return Result(
        answer=f"{named} = {value:.10g} (of {len(values)} values)",
        data={"value": value, **summary},
        operation_kind="python",
        operation_text=op_text,
    )

"""Data-analytics specialist: tables in, pandas operations, tables/answers/charts out.

Typed commands (see ``da_commands``) run directly; anything else raises ``NeedsPlan`` and the
engine resends the task with a plan of the same steps (``plan_schema.json``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from da_commands import parse_text  # noqa: E402
from da_engine import Engine  # noqa: E402
from da_io import expand_inputs  # noqa: E402
from switchboard_runtime.api import BadPlan, Result, Task  # noqa: E402

__all__ = ["handle", "warm"]


def warm() -> None:
    """Nothing to preload: pandas is imported on the first task to keep idle memory small."""


def handle(task: Task) -> Result:
    """Parse or validate the plan, load the inputs and run the steps."""
    names = [item.name for item in task.inputs]
    if task.plan is not None:
        plan = task.plan
        if isinstance(plan, list):
            plan = {"steps": plan}
        if not isinstance(plan, dict):
            raise BadPlan("The plan must be an object with a 'steps' list.")
        planned = True
    else:
        plan = parse_text(task.text, names)
        planned = False
    os.environ.setdefault("MPLCONFIGDIR", tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix=f"da-{task.id[:16]}-") as scratch:
        files = expand_inputs(task.inputs, Path(scratch))
        return Engine(files, task.output_dir, planned).run(plan)

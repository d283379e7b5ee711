"""Clock jumps: durations and time limits use the monotonic clock; stored times are UTC epochs.

libfaketime is not installed on these machines, so the wall clock is patched in-process
(``time.time`` jumps a day forward and back mid-task) and the code paths are checked.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from app.engine.tasks import dispatch
from tests.unit.fake_runtime import make_rig

ENGINE = Path(__file__).resolve().parents[2] / "app" / "engine"
DAY = 86_400.0


class JumpingClock:
    """``time.time`` that jumps by ``offset`` each time it is read after ``arm()``."""

    def __init__(self) -> None:
        self.real = time.time
        self.offset = 0.0
        self.step = 0.0

    def __call__(self) -> float:
        self.offset += self.step
        return self.real() + self.offset


@pytest.mark.parametrize("step", [DAY, -DAY])
def test_a_wall_clock_jump_mid_task_changes_no_duration_and_reaps_nothing_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: float
) -> None:
    clock = JumpingClock()
    monkeypatch.setattr(dispatch.time, "time", clock)
    with make_rig(tmp_path) as rig:
        rig.runtime.gate.clear()
        job = rig.job("wait", timeout_s=30.0)
        future = rig.dispatcher.submit(job)
        rig.runtime.wait_active("echo", 1)
        clock.step = step  # every read of the wall clock jumps a day from now on
        time.sleep(0.3)
        rig.runtime.gate.set()
        view = future.result(timeout=10)
        assert view.state == "succeeded", view.error  # not timed out by a clock a day ahead
        assert view.duration_ms is not None and 0 <= view.duration_ms < 10_000, view.duration_ms
        assert rig.lifecycle.replicas(), "the container was not reaped as idle for a day"


def test_timeouts_and_durations_in_the_engine_never_subtract_wall_clock_readings() -> None:
    """No ``time.time() - x`` / ``x - time.time()`` in the task path, lifecycle or transport."""
    offenders = []
    for rel in (
        "tasks/dispatch.py",
        "fleet/transport.py",
        "fleet/lifecycle.py",
        "fleet/controller.py",
        "llm/planner.py",
        "routing/router.py",
        "health/monitor.py",
    ):
        tree = ast.parse((ENGINE / rel).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
                for side in (node.left, node.right):
                    if isinstance(side, ast.Call) and ast.unparse(side.func) == "time.time":
                        offenders.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert not offenders, "durations from the wall clock jump with it:\n" + "\n".join(offenders)

"""A crashed program is shown to the next attempt for repair; the last attempt starts afresh.

Over the fake runtime: the container runs "programs" by their text (one containing ``crash``
fails with a traceback), and the scripted coder records what it was given on each attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.engine.core.specs import ProgramSpec, SpecialistSpec
from app.engine.tasks.dispatch import Dispatcher
from tests.unit.fake_runtime import FakeContainer, error, make_rig, make_spec, result


class ScriptedCoder:
    """Writes the given programs in order and records the repair input of each attempt."""

    def __init__(self, *programs: str) -> None:
        self.programs = list(programs)
        self.given: list[str] = []

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
        self.given.append(failed_program)
        return self.programs.pop(0)


def behaviour(container: FakeContainer, request: dict[str, Any]) -> dict[str, Any] | None:
    program = str(request.get("program") or "")
    if not program:
        return error(request, "needs_plan", "no command recognised")
    if "crash" in program:
        last = program.split("crash", 1)[1]  # the error names what crashed
        return error(request, "bad_input", f"the program failed: Traceback ...\nTypeError: {last}")
    return result(request, "3025")


def _run(tmp_path: Path, coder: ScriptedCoder) -> Any:
    spec = make_spec("code").model_copy(
        update={"program": ProgramSpec(language="python", libraries=("numpy",), guide="Write Python.")}
    )
    with make_rig(tmp_path, [spec], behaviour=behaviour) as rig:
        rig.dispatcher.close(wait=True)
        dispatcher = Dispatcher(rig.settings, rig.lifecycle, rig.store, rig.blobs, rig.bus, coder=coder)
        try:
            return dispatcher.submit(rig.job("make cubes.csv and sum n_cubed", specialist="code")).result(30)
        finally:
            dispatcher.close(wait=True)


def test_the_attempt_after_a_crash_repairs_that_program(tmp_path: Path) -> None:
    coder = ScriptedCoder("write_csv(); crash()", "write_csv(); print(3025)")
    view = _run(tmp_path, coder)
    assert view.state == "succeeded" and view.answer == "3025"
    assert coder.given == ["", "write_csv(); crash()"]


def test_a_repair_that_made_progress_is_repaired_again(tmp_path: Path) -> None:
    coder = ScriptedCoder("crash(1)", "crash(2)", "print(3025)")
    view = _run(tmp_path, coder)
    assert view.state == "succeeded"
    assert coder.given == ["", "crash(1)", "crash(2)"], "each attempt fixed one error: keep repairing"


def test_the_same_error_twice_starts_afresh(tmp_path: Path) -> None:
    coder = ScriptedCoder("crash(1)", "again; crash(1)", "print(3025)")
    view = _run(tmp_path, coder)
    assert view.state == "succeeded"
    assert coder.given == ["", "crash(1)", ""], "the repair did not help: attempt 3 is sampled anew"


def test_a_repair_that_returns_the_same_program_is_sampled_anew(tmp_path: Path) -> None:
    coder = ScriptedCoder("crash(1)", "crash(2)", "crash(2)", "print(3025)")
    view = _run(tmp_path, coder)
    assert view.state == "succeeded"
    assert coder.given == ["", "crash(1)", "crash(2)", ""], "the repeated program is not run again"

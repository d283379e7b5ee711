"""The code-execution specialist's explicit path, run on the host without a container.

User code runs in a real child process under the sandbox's rlimits (standard library only);
the container's own hardening (no network, no Docker socket) is not there, so golden cases that
expect ``forbidden`` are left to the integration suite. The image has no pytest, so pytest is
reported missing here too, whatever the host has.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.specialist_code import load_handler, specialist_folder

FOLDER = specialist_folder("code-execution")
GOLDEN = FOLDER / "golden"

from switchboard_runtime.api import InputFile, SpecialistError, Task  # noqa: E402

CALC = "def add(a, b):\n    return a + b\n"
TEST_CALC = (
    "import unittest\n\nfrom calc import add\n\n\n"
    "class T(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n"
    "    def test_wrong(self):\n        self.assertEqual(add(2, 2), 5)\n\n"
    "    @unittest.skip('later')\n    def test_later(self):\n        pass\n"
)
ARGV = "import sys\nprint('argv', sys.argv[1:])\n"


def _handler() -> ModuleType:
    return load_handler("code-execution")


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The handler, with pytest absent from the sandbox as it is in the image."""
    module = _handler()
    monkeypatch.setattr(module, "_module_available", lambda name: name != "pytest")
    return module


def _files(tmp_path: Path, files: dict[str, str]) -> list[InputFile]:
    folder = tmp_path / "input"
    folder.mkdir(exist_ok=True)
    inputs = []
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        inputs.append(InputFile(name, folder / name, len(text), ""))
    return inputs


def _task(text: str, tmp_path: Path, inputs: list[InputFile] | None = None) -> Task:
    return Task(
        id="t",
        text=text,
        inputs=inputs or [],
        plan=None,
        output_dir=tmp_path / "out",
        timeout_s=30.0,
        max_output_bytes=1 << 20,
        data_dir=tmp_path / "data",
    )


def _argv(handler: ModuleType, text: str, tmp_path: Path, files: dict[str, str] | None = None) -> list[str]:
    return handler.plan_run(_task(text, tmp_path, _files(tmp_path, files or {}))).argv


# -- what to run -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("python script.py data.csv 3", ["script.py", "data.csv", "3"]),
        ("run script.py with --n 5", ["script.py", "--n", "5"]),
        ("run script.py with --column score data.csv", ["script.py", "--column", "score", "data.csv"]),
        ("run script.py with arguments alpha beta", ["script.py", "alpha", "beta"]),
        ("execute the script script.py on data.csv and give me the output file", ["script.py", "data.csv"]),
        ("run script.py with data.csv as its input", ["script.py", "data.csv"]),
        ("python3 -u script.py 'two words'", ["-u", "script.py", "two words"]),
        ("run `python script.py --n 2`", ["script.py", "--n", "2"]),
        ("```bash\n$ python script.py 7\n```", ["script.py", "7"]),
        ("python -m unittest test_calc.py", ["-m", "unittest", "test_calc.py"]),
        ("run the unit tests in test_calc.py", ["-m", "unittest", "-v", "test_calc.py"]),
        ("run the tests", ["-m", "unittest", "-v", "test_calc.py"]),
        ("python -c 'print(2**10)'", ["-c", "print(2**10)"]),
        ("python data/script.py", ["script.py"]),
        ("Run my script script.py with 27 as the argument and tell me what it prints.", ["script.py", "27"]),
        ("run script.py with data.csv 3 as its arguments", ["script.py", "data.csv", "3"]),
    ],
)
def test_commands_and_arguments(handler: ModuleType, tmp_path: Path, text: str, argv: list[str]) -> None:
    files = {"script.py": ARGV, "data.csv": "a\n1\n", "test_calc.py": TEST_CALC, "calc.py": CALC}
    assert _argv(handler, text, tmp_path, files) == argv


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("run this and tell me what it prints: print(6 * 7)", "print(6 * 7)\n"),
        ("what does this snippet print? x = [1, 2]; print(x[::-1])", "x = [1, 2]; print(x[::-1])\n"),
        ("Run this code:\nfor i in range(2):\n    print(i)", "for i in range(2):\n    print(i)\n"),
        ("run this and tell me what it prints:\n```\nprint('untagged')\n```", "print('untagged')\n"),
        ("run this:\n```Python\nprint('tagged')\n```", "print('tagged')\n"),
        ("run this: print(2 + 2) and tell me the result", "print(2 + 2)\n"),
        ("what's the output of print('a' * 3)?", "print('a' * 3)\n"),
        ("```pycon\n>>> x = 6\n>>> print(x * 7)\n42\n```", "x = 6\nprint(x * 7)\n"),
    ],
)
def test_inline_code_after_a_lead_in(handler: ModuleType, tmp_path: Path, text: str, code: str) -> None:
    run = handler.plan_run(_task(text, tmp_path))
    assert run.code == code and run.argv == ["main.py"]


@pytest.mark.parametrize(
    "text",
    [
        "what is the meaning of life",
        "sort this list in Python: [5, 3, 9, 1]",  # data, not code: the planner writes the program
        "python list comprehension of the even numbers below 50",
        "```js\nconsole.log(1)\n```",
        "```bash\nls -la\n```",
        "run it",  # two scripts dropped, none named
    ],
)
def test_unclear_requests_need_a_plan(handler: ModuleType, tmp_path: Path, text: str) -> None:
    task = _task(text, tmp_path, _files(tmp_path, {"a.py": ARGV, "b.py": ARGV}))
    with pytest.raises(SpecialistError) as err:
        handler.plan_run(task)
    assert err.value.kind == "needs_plan"


def test_a_named_script_that_was_not_dropped_is_bad_input(handler: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SpecialistError, match="stats.py was not dropped") as err:
        handler.plan_run(_task("run stats.py with --n 5", tmp_path))
    assert err.value.kind == "bad_input"


@pytest.mark.parametrize(
    "text",
    [
        "Please run script.py on the data with a rate of 19% (the script takes --rate as a fraction).",
        "run the script on data.csv, sorted by the second column",
        "run the script, passing the input file and the number of lines as arguments",
    ],
)
def test_arguments_named_in_prose_need_a_plan(handler: ModuleType, tmp_path: Path, text: str) -> None:
    """A script that reads its command line is not run bare when the task names its arguments in prose."""
    task = _task(text, tmp_path, _files(tmp_path, {"script.py": ARGV, "data.csv": "a\n1\n"}))
    with pytest.raises(SpecialistError) as err:
        handler.plan_run(task)
    assert err.value.kind == "needs_plan"


def test_a_script_without_a_command_line_runs_bare_whatever_the_prose(handler: ModuleType, tmp_path: Path) -> None:
    files = {"report.py": "print(open('data.csv').read())\n", "data.csv": "a\n1\n"}
    text = "Why does the report crash? Run it on data.csv with the default options."
    assert _argv(handler, text, tmp_path, files) == ["report.py"]


def test_prose_after_a_script_is_not_taken_as_arguments(handler: ModuleType, tmp_path: Path) -> None:
    assert _argv(handler, "run script.py to get the mean", tmp_path, {"script.py": ARGV}) == ["script.py"]


# -- running ---------------------------------------------------------------------------------


def test_script_sees_its_arguments(handler: ModuleType, tmp_path: Path) -> None:
    task = _task("python script.py data.csv 3", tmp_path, _files(tmp_path, {"script.py": ARGV, "data.csv": "a\n"}))
    result = handler.handle(task)
    assert result.answer == "argv ['data.csv', '3']"
    assert result.data["argv"] == ["python", "script.py", "data.csv", "3"]
    assert result.artifacts == []  # no __pycache__ or copies of the inputs come back


def test_unittest_run_reports_passes_and_failures(handler: ModuleType, tmp_path: Path) -> None:
    task = _task(
        "run the unit tests in test_calc.py", tmp_path, _files(tmp_path, {"test_calc.py": TEST_CALC, "calc.py": CALC})
    )
    result = handler.handle(task)
    assert result.answer.startswith("Ran 3 tests: 1 passed, 1 failed, 1 skipped - FAILED")
    assert "test_wrong: AssertionError: 4 != 5" in result.answer
    tests = result.data["tests"]
    assert (tests["tests_run"], tests["passed"], tests["failed"], tests["skipped"]) == (3, 1, 1, 1)
    assert sorted(result.tables[0].rows) == [
        ["test_calc.T.test_add", "ok"],
        ["test_calc.T.test_later", "skipped"],
        ["test_calc.T.test_wrong", "fail"],
    ]


def test_script_that_only_defines_tests_is_run_as_tests(handler: ModuleType, tmp_path: Path) -> None:
    task = _task("run test_calc.py", tmp_path, _files(tmp_path, {"test_calc.py": TEST_CALC, "calc.py": CALC}))
    assert handler.handle(task).data["tests"]["tests_run"] == 3


def test_inline_unittest_code_is_run_as_tests(handler: ModuleType, tmp_path: Path) -> None:
    code = "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        self.assertTrue(True)\n"
    result = handler.handle(_task(f"run these unit tests:\n```python\n{code}```", tmp_path))
    assert result.answer == "Ran 1 test: 1 passed - OK"


def test_unittest_main_output_is_summarised_too(handler: ModuleType, tmp_path: Path) -> None:
    code = TEST_CALC.replace("from calc import add", "add = lambda a, b: a + b") + "\nunittest.main()\n"
    result = handler.handle(_task(code, tmp_path))
    assert result.data["tests"]["failed"] == 1 and result.data["exit_code"] == 1


@pytest.mark.parametrize(
    "text",
    ["pytest test_x.py", "python -m pytest -q", "run the tests in test_x.py with pytest", "run the tests in test_x.py"],
)
def test_pytest_requests_fail_clearly_when_pytest_is_missing(handler: ModuleType, tmp_path: Path, text: str) -> None:
    task = _task(text, tmp_path, _files(tmp_path, {"test_x.py": "def test_one():\n    assert 1 + 1 == 2\n"}))
    with pytest.raises(SpecialistError, match="pytest is not installed") as err:
        handler.handle(task)
    assert err.value.kind == "unsupported"


def test_a_dropped_main_py_is_not_overwritten_by_inline_code(handler: ModuleType, tmp_path: Path) -> None:
    task = _task("print(open('main.py').read().strip())", tmp_path, _files(tmp_path, {"main.py": "# mine"}))
    assert handler.handle(task).answer == "# mine"


# -- golden suite ----------------------------------------------------------------------------


def _golden() -> list[Any]:
    lines = (FOLDER / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]
    return [
        pytest.param(c, id=c["id"], marks=pytest.mark.skip(reason="needs the container's network/socket isolation"))
        if c["check"].get("error") == "forbidden"
        else pytest.param(c, id=c["id"])
        for c in cases
        if c.get("path", "explicit") == "explicit" or c.get("plan") is not None
    ]


@pytest.mark.parametrize("case", _golden())
def test_golden_case(handler: ModuleType, case: dict[str, Any], tmp_path: Path) -> None:
    from switchboard_runtime.results import result_message
    from switchboard_runtime.server import map_exception

    from app.engine.evaluation.golden_checks import GoldenCase, check

    files = [FOLDER / f for f in case.get("files", [])]
    task = _task(case["text"], tmp_path, [InputFile(f.name, f, f.stat().st_size, "") for f in files])
    task = dataclasses.replace(task, plan=case.get("plan"))
    try:
        response = result_message(task, handler.handle(task))
    except Exception as exc:  # noqa: BLE001 - mapped like the runtime server does
        response = map_exception(task.id, exc)
    outcome = check(GoldenCase.model_validate(case), response)
    assert outcome.passed, f"{case['id']}: {outcome.detail}"


USAGE = (
    "import argparse\np = argparse.ArgumentParser()\np.add_argument('items')\n"
    "args = p.parse_args()\nprint('items', args.items)\n"
)


def test_a_guessed_bare_run_that_prints_its_usage_asks_for_a_plan(handler: ModuleType, tmp_path: Path) -> None:
    task = _task(
        "what grand total does the invoice script give with a 10 percent discount?",
        tmp_path,
        _files(tmp_path, {"invoice.py": USAGE}),
    )
    with pytest.raises(SpecialistError) as err:
        handler.handle(task)
    assert err.value.kind == "needs_plan" and "printed its usage" in str(err.value)
    own = _task(
        "run script.py",
        tmp_path,
        _files(tmp_path, {"script.py": "import sys\nprint('usage: script.py N')\nsys.exit(1)\n"}),
    )
    assert (
        handler.handle(own).answer == "exit code 1: usage: script.py N"
    )  # the run asked for: its output is the answer
    failing = _task("does calc.py work?", tmp_path, _files(tmp_path, {"calc.py": "raise SystemExit(3)\n"}))
    assert handler.handle(failing).answer.startswith(
        "exit code 3"
    )  # a failure that is not a usage message stays the answer

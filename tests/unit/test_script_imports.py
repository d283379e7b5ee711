"""Importing a dropped script's functions runs only its definitions, never its main code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.engine.llm.script_imports import HELPER, import_dropped_scripts

COLLATZ = '''"""Count the Collatz steps of the number given on the command line."""
import sys

LIMIT = 10 ** 6
START = int(sys.argv[1])  # fails when imported without arguments: skipped


def steps(n: int) -> int:
    count = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        count += 1
    return count


if len(sys.argv) != 2:
    sys.exit("usage: collatz.py N")
print(f"collatz({START}) reaches 1 after {steps(START)} steps")
'''


def _run(folder: Path, program: str) -> subprocess.CompletedProcess[str]:
    (folder / "program.py").write_text(program, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "program.py"], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_script_that_exits_on_import_gives_its_functions(tmp_path: Path) -> None:
    (tmp_path / "collatz.py").write_text(COLLATZ, encoding="utf-8")
    written = "from collatz import steps, LIMIT as cap\nbest = max(range(1, 1000), key=steps)\nprint(best, cap)\n"
    plain = _run(tmp_path, written)
    assert plain.returncode != 0 and "IndexError" in plain.stderr, "the problem this solves: its main code ran"
    fixed = import_dropped_scripts(written, ["collatz.py", "data.csv"])
    assert fixed.startswith(HELPER) and "functions_of('collatz.py')" in fixed
    done = _run(tmp_path, fixed)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["871", "1000000"]


def test_module_imports_and_other_imports_are_kept(tmp_path: Path) -> None:
    (tmp_path / "collatz.py").write_text(COLLATZ, encoding="utf-8")
    written = "import math, collatz as c\nprint(c.steps(27), math.floor(2.5))\n"
    done = _run(tmp_path, import_dropped_scripts(written, ["collatz.py"]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["111", "2"]


def test_programs_without_a_dropped_script_import_are_unchanged() -> None:
    code = "import json\nprint(json.dumps([1]))\n"
    assert import_dropped_scripts(code, ["collatz.py"]) == code
    assert import_dropped_scripts("from collatz import steps\n", []) == "from collatz import steps\n"
    assert import_dropped_scripts("def broken(:\n", ["collatz.py"]) == "def broken(:\n"


def test_a_script_launched_by_name_runs_with_this_python(tmp_path: Path) -> None:
    from app.engine.llm.program_fix import launch_scripts_with_python

    (tmp_path / "stats.py").write_text("import sys\nprint(sum(map(float, sys.argv[1:])))\n", encoding="utf-8")
    written = 'import subprocess\ndone = subprocess.run(["stats.py", "4", "8"], capture_output=True, text=True)\n'
    written += "print(done.stdout.strip())\n"
    fixed = launch_scripts_with_python(written)
    assert 'subprocess.run([sys.executable, "stats.py", "4", "8"]' in fixed and fixed.startswith("import sys\n")
    assert _run(tmp_path, fixed).stdout.strip() == "12.0"
    named = launch_scripts_with_python('import sys, subprocess\nsubprocess.run(["python3", "stats.py"])\n')
    assert 'subprocess.run([sys.executable, "stats.py"])' in named and named.count("import sys") == 1
    assert launch_scripts_with_python("print(1)\n") == "print(1)\n"

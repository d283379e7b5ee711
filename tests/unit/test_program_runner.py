"""The in-container program runner, run on the host: answer, files, tables, limits, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "specialists" / "runtime"))

from switchboard_runtime.api import InputFile, SpecialistError, Task  # noqa: E402
from switchboard_runtime.program import final_value, run_program  # noqa: E402


def _task(tmp_path: Path, code: str, *, files: dict[str, str] | None = None, timeout_s: float = 20.0) -> Task:
    inputs = []
    for name, text in (files or {}).items():
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        inputs.append(InputFile(name=name, path=path, bytes=len(text), sha256=""))
    return Task(
        id="t1",
        text="x",
        inputs=inputs,
        plan=None,
        output_dir=tmp_path / "out",
        timeout_s=timeout_s,
        max_output_bytes=1 << 20,
        program=code,
    )


@pytest.fixture(autouse=True)
def _tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()


def test_program_reads_inputs_by_name_prints_and_returns_tables(tmp_path: Path) -> None:
    code = (
        "import csv\nrows = list(csv.DictReader(open('sales.csv')))\n"
        "total = sum(float(r['amount']) for r in rows)\n"
        "open('result.csv', 'w').write('region,amount\\nN,1278.6399999999999\\nS,2\\n')\n"
        "print(f'Total amount: {total}')\n"
    )
    result = run_program(_task(tmp_path, code, files={"sales.csv": "region,amount\nN,1.5\nS,2\n"}))
    assert result.answer == "Total amount: 3.5" and result.path == "program"
    assert result.data is not None and result.data["value"] == 3.5
    assert [a.name for a in result.artifacts] == ["result.csv"]  # the input link is not an output
    assert result.tables[0].rows == [["N", 1278.64], ["S", 2]]
    assert result.operation_text == code


def test_failures_name_the_reason(tmp_path: Path) -> None:
    with pytest.raises(SpecialistError) as err:
        run_program(_task(tmp_path, "import json\njson.loads('{')\n"))
    assert err.value.kind == "bad_input" and "JSONDecodeError" in err.value.message
    with pytest.raises(SpecialistError) as err:
        run_program(_task(tmp_path, "while True: pass\n", timeout_s=3))
    assert err.value.kind in ("timeout", "limit")
    with pytest.raises(SpecialistError) as err:
        run_program(_task(tmp_path, "x = 1\n"))
    assert "printed nothing" in err.value.message


def test_final_value_is_the_last_number_of_the_last_line() -> None:
    assert final_value("Orders in March 2024:\n 13") == 13
    assert final_value("Orders in March 2024: 13") == 13
    assert final_value("total 1,234.5 EUR") == 1234.5
    assert final_value("no numbers") is None
    assert final_value("smallest surface area = 4800 cm^2") == 4800  # a unit's power is not the value
    assert final_value("volume: 12.5 m³") == 12.5
    assert final_value("rate 3e-3 s**-1") == 0.003
    assert final_value("x^2 at x = 3 is 9") == 9
    assert final_value("(8+0j)") == 8 and final_value("X[0] = (-2.5-0j)") == -2.5
    assert final_value("(1+2j)") == 2  # a real complex value: its last number, as before

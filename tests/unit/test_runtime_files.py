"""switchboard_runtime.files and jsonsafe: shared input checks and JSON conversion."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "specialists" / "runtime"))

from switchboard_runtime.api import SpecialistError  # noqa: E402
from switchboard_runtime.files import (  # noqa: E402
    check_input,
    detect_encoding,
    read_csv,
    safe_extract_zip,
    sniff_delimiter,
)
from switchboard_runtime.jsonsafe import dumps, fit_to_budget, to_jsonable  # noqa: E402


def test_symlinks_and_missing_files_are_rejected(tmp_path: Path) -> None:
    real = tmp_path / "a.csv"
    real.write_text("x\n1\n")
    link = tmp_path / "b.csv"
    link.symlink_to(real)
    with pytest.raises(SpecialistError, match="symbolic link") as err:
        check_input(link)
    assert err.value.kind == "bad_input"
    with pytest.raises(SpecialistError, match="not found"):
        check_input(tmp_path / "nope.csv")
    with pytest.raises(SpecialistError, match="accepted: .json"):
        check_input(real, [".json"])
    assert check_input(real, [".csv"]) == real


def test_encodings_are_detected() -> None:
    assert detect_encoding("é".encode()) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbfa,b") == "utf-8-sig"
    assert detect_encoding("café".encode("latin-1")) == "latin-1"


@pytest.mark.parametrize(
    ("sample", "delim"), [("a,b,c\n1,2,3", ","), ('a;b\n"1,5";2', ";"), ("a\tb\n1\t2", "\t"), ("a|b\n1|2", "|")]
)
def test_delimiters_are_sniffed(sample: str, delim: str) -> None:
    assert sniff_delimiter(sample) == delim


def test_read_csv_handles_latin1_bom_and_names_bad_rows(tmp_path: Path) -> None:
    latin = tmp_path / "l.csv"
    latin.write_bytes("name;price\ncafé;1,5\n".encode("latin-1"))
    data = read_csv(latin)
    assert data.encoding == "latin-1" and data.delimiter == ";"
    assert data.rows == [["café", "1,5"]]
    bom = tmp_path / "b.csv"
    bom.write_bytes(b"\xef\xbb\xbfx,y\n1,2\n")
    assert read_csv(bom).columns == ["x", "y"]
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(SpecialistError, match=r"r.csv row 3: expected 2 fields"):
        read_csv(ragged)
    with pytest.raises(SpecialistError, match="no column 'z'"):
        read_csv(latin).column("z")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"a,b\n\x00\x01\x02")
    with pytest.raises(SpecialistError, match="binary"):
        read_csv(binary)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_safe_zip_extraction(tmp_path: Path) -> None:
    ok = _zip(tmp_path / "ok.zip", {"d/a.txt": b"hello", "b.txt": b"x"})
    files = safe_extract_zip(ok, tmp_path / "out")
    assert sorted(p.name for p in files) == ["a.txt", "b.txt"]
    evil = _zip(tmp_path / "evil.zip", {"../../etc/x": b"x"})
    with pytest.raises(SpecialistError, match="escape"):
        safe_extract_zip(evil, tmp_path / "out2")
    bomb = _zip(tmp_path / "bomb.zip", {"zeros": b"\0" * 5_000_000})
    with pytest.raises(SpecialistError, match="zip bomb"):
        safe_extract_zip(bomb, tmp_path / "out3")
    with pytest.raises(SpecialistError, match="expands to"):
        safe_extract_zip(ok, tmp_path / "out4", max_total_bytes=3)
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as archive:
        info = zipfile.ZipInfo("l")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(SpecialistError, match="symbolic link"):
        safe_extract_zip(link, tmp_path / "out5")
    (tmp_path / "fake.zip").write_bytes(b"nope")
    with pytest.raises(SpecialistError, match="not a valid zip"):
        safe_extract_zip(tmp_path / "fake.zip", tmp_path / "out6")


class _FakeNumpyScalar:
    __module__ = "numpy"

    def item(self) -> float:
        return float("inf")


def test_to_jsonable_covers_foreign_types() -> None:
    value = {
        1: float("nan"),
        "d": dt.date(2024, 1, 2),
        "t": (1, 2),
        "s": {3},
        "c": 1 + 2j,
        "np": _FakeNumpyScalar(),
        "p": Path("/x"),
        "b": b"\x00",
    }
    out = to_jsonable(value)
    assert out == {
        "1": None,
        "d": "2024-01-02",
        "t": [1, 2],
        "s": [3],
        "c": {"re": 1.0, "im": 2.0},
        "np": None,
        "p": "/x",
        "b": {"$bytes": "AA=="},
    }
    assert json.loads(dumps({"x": out}))["x"] == out


def test_fit_to_budget_cuts_the_least_useful_parts_first() -> None:
    message = {
        "answer": "a",
        "stdout": "o" * 50000,
        "stderr": "",
        "data": {"k": 1},
        "tables": [{"name": "t", "columns": ["n"], "rows": [[i] for i in range(5000)]}],
    }
    assert fit_to_budget(message, 16000)
    assert len(dumps(message)) <= 16000
    assert message["answer"] == "a"
    assert message["tables"][0]["rows"][0] == [0]
    small = {"answer": "x"}
    assert not fit_to_budget(small, 1000)
    assert io.BytesIO(dumps(small)).read().endswith(b"\n")

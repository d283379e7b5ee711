"""The data-analytics phrase parser: exact commands are taken, sentences are left to the model."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[2] / "specialists" / "data-analytics"
for _path in (FOLDER.parent / "runtime", FOLDER):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from da_commands import _clause  # noqa: E402


def test_describe_takes_a_list_of_columns() -> None:
    assert _clause("describe") == [{"op": "describe"}]
    assert _clause("describe salary, age") == [{"op": "describe", "columns": ["salary", "age"]}]
    assert _clause('describe "the total"') == [{"op": "describe", "columns": ["the total"]}]


@pytest.mark.parametrize(
    "sentence", ["Describe the salary column for me", "describe what is in this file", "summarise the columns please"]
)
def test_a_describe_sentence_is_not_a_command(sentence: str) -> None:
    assert _clause(sentence) is None

"""Repairs of model-written pandas code (text level; the sandbox run is in the integration suite)."""

from __future__ import annotations

import ast

from app.engine.llm.pandas_compat import SAVE_HELPER, SAVE_NAME, fix_pandas


def test_a_tuple_of_columns_after_groupby_becomes_a_list() -> None:
    code = 'out = df.groupby(["seg"], as_index=False)["qty", \'price\'].sum()\n'
    assert fix_pandas(code) == 'out = df.groupby(["seg"], as_index=False)[["qty", \'price\']].sum()\n'
    nested = 'df.groupby(df["d"].dt.day_name())["a", "b"].mean()\n'
    assert '[["a", "b"]]' in fix_pandas(nested)
    untouched = 'x = df.groupby("k")["a"].sum()\ny = d["a", "b"]\n'
    assert fix_pandas(untouched) == untouched  # one column, or not after a groupby


def test_to_csv_calls_go_through_the_helper_which_is_added_once() -> None:
    code = (
        "from __future__ import annotations\nimport pandas as pd\n"
        "best = df.groupby('d').size().idxmax()\nbest.to_csv('result.csv', index=False)\n"
        "df.groupby('d')['q'].sum().to_csv(\"per_day.csv\")\ntext = df.to_csv()\n"
    )
    fixed = fix_pandas(code)
    ast.parse(fixed)
    assert fixed.startswith("from __future__ import annotations\n" + SAVE_HELPER)
    assert fixed.count(f"def {SAVE_NAME}(") == 1
    assert f"{SAVE_NAME}(best, 'result.csv', index=False)" in fixed
    assert f"{SAVE_NAME}(df.groupby('d')['q'].sum(), \"per_day.csv\")" in fixed
    assert f"text = {SAVE_NAME}(df)" in fixed
    assert ".to_csv(" not in fixed.replace(SAVE_HELPER, "")


def test_code_without_to_csv_or_that_does_not_parse_is_left_alone() -> None:
    assert fix_pandas("print(df['a'].sum())\n") == "print(df['a'].sum())\n"
    broken = "x.to_csv('a.csv'\n"
    assert fix_pandas(broken) == broken

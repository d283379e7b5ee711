"""A task's program edited by the user and run again, on the real data-analytics image (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.core.errors import BadInput
from app.engine.llm.pandas_compat import fix_pandas
from app.engine.orchestrator import Orchestrator

pytestmark = pytest.mark.docker

# the two pandas mistakes small models make, repaired by fix_pandas before the run
OLD_PANDAS = """import pandas as pd
df = pd.read_csv("sales.csv")
per = df.groupby("region")["amount", "units"].sum()
best = per["amount"].idxmax()
best.to_csv("best.csv", index=False)
per["amount"].to_csv("result.csv", index=False)
print(best)
"""


def test_an_edited_program_runs_in_a_fresh_sandbox_and_its_tables_keep_their_keys(
    orch: Orchestrator, tmp_path: Path
) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_text("region,amount,units\nnorth,10,1\nsouth,30,2\nnorth,5,3\neast,7,1\n")
    first = orch.submit("count rows in sales.csv", specialist="data-analytics", files=[csv]).future.result(timeout=300)
    assert first.state == "succeeded" and "4" in first.answer, first
    with pytest.raises(BadInput, match="empty"):
        orch.run_program(first.id, "  \n")
    view = orch.run_program(first.id, fix_pandas(OLD_PANDAS)).future.result(timeout=300)
    assert view.state == "succeeded", (view.error_kind, view.error)
    assert view.path == "program" and view.answer.strip() == "south"
    assert view.program == fix_pandas(OLD_PANDAS)  # stored with the task: what ran is what is shown
    tables = {t["name"]: t for t in view.tables}
    result = next(t for name, t in tables.items() if name.startswith("result"))
    assert result["columns"][0] == "region"  # the groupby keys survived index=False
    assert sorted(map(tuple, result["rows"])) == [("east", 7), ("north", 15), ("south", 30)]
    best = next(t for name, t in tables.items() if name.startswith("best"))
    assert best["rows"] == [["south"]]  # a scalar saved as a one-cell table
    assert orch.task(first.id).answer == first.answer  # the original task is untouched
    broken = orch.run_program(first.id, "import pandas as pd\nprint(pd.read_csv('missing.csv'))\n").future.result(
        timeout=300
    )
    assert broken.state == "failed" and "missing.csv" in (broken.error or ""), broken

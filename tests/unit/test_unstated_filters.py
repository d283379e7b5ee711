"""Compared text values that the task never mentions are found; the task's own values are not."""

from __future__ import annotations

import pytest

from app.engine.tasks.unstated_filters import unstated_filters
from app.engine.tasks.verify import check_result


@pytest.mark.parametrize(
    ("task", "program", "sql", "invented"),
    [
        ("Welche Fahrräder kosten weniger als 1000 €?", "WHERE stock_class = 'in' AND price < 1000", True, ["in"]),
        ("Which bikes in stock cost less than 1000?", "WHERE stock_class = 'in' AND price < 1000", True, []),
        ("revenue of the Paris store", "SUM(CASE WHEN store = 'Paris' THEN qty END)", True, []),
        ("how many cancelled orders?", "WHERE status = 'canceled'", True, []),
        ("total km driven by our vans", "WHERE kind = 'van'", True, []),
        ("visits in March 2024", "WHERE visit_date LIKE '2024-03-%'", True, []),
        ("customers who churned", "WHERE churned = 'yes'", True, []),
        ("orders per month", "strftime('%Y-%m', d) = '2024-01'", True, []),
        ("books by Lem", "WHERE genre IN ('sci-fi', 'classic') AND author LIKE '%Lem%'", True, ["sci-fi", "classic"]),
        ("total sales in the East", "df[df['region'] == 'East']['amount'].sum()", False, []),
        ("total sales in the East", "df[(df['region'] == 'East') & (df['status'] == 'shipped')]", False, ["shipped"]),
        ("products on sale", "df[df['cat'].isin(['garden'])]", False, ["garden"]),
    ],
)
def test_values_the_task_does_not_mention(task: str, program: str, sql: bool, invented: list[str]) -> None:
    assert unstated_filters(task, program, sql=sql) == invented


def test_an_invented_filter_is_a_reason_to_try_again_not_a_verdict() -> None:
    problem = check_result(
        "Which bikes cost less than 1000?", "bike\nStadtflitzer", "df[df['stock'] == 'auf Lager']", ["bike", "stock"]
    )
    assert problem.startswith("answer shape: ") and "'auf Lager'" in problem

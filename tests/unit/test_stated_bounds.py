"""A program's comparisons against the strictness the task's words state."""

from __future__ import annotations

import pytest

from app.engine.tasks.stated_bounds import bound_mismatches
from app.engine.tasks.verify import check_result


@pytest.mark.parametrize(
    ("task", "program", "flagged"),
    [
        ("how many people joined after 2019 (i.e. 2020 or later)?", "WHERE start_year >= 2019", True),
        ("how many people joined after 2019 (i.e. 2020 or later)?", "WHERE start_year > 2019", False),
        ("how many people joined after 2019 (i.e. 2020 or later)?", "WHERE start_year >= 2020", False),
        ("orders with more than 3 items", "df[df['items'] >= 3]", True),
        ("orders with at least 3 items", "df[df['items'] >= 3]", False),
        ("orders with at least 3 items", "df[df['items'] > 3]", True),
        ("customers aged 18 and over", "WHERE age >= 18", False),
        ("customers aged 18 and over", "WHERE age > 18", True),
        ("products cheaper than 20 €", "WHERE price <= 20", True),
        ("products cheaper than 20 €", "WHERE 20 > price", False),
        ("products at most 20 euros", "WHERE price < 20", True),
        ("people who did NOT join after 2019", "WHERE start_year <= 2019", False),  # a negation: other side
        ("how many orders are there after 2019?", "WHERE amount > 50", False),  # 2019 is not compared
        ("items over 10 kg", "weight >= 10", True),
        ("products rated 4.5 stars or better", "WHERE stars > 4.5", True),
        ("products rated 4.5 stars or better", "WHERE stars >= 4.5", False),
        ("parcels of 10 kg and over", "weight > 10", True),
    ],
)
def test_strictness_of_a_stated_bound(task: str, program: str, flagged: bool) -> None:
    assert bool(bound_mismatches(task, program)) is flagged


def test_the_check_names_the_bound_and_is_not_a_shape_problem() -> None:
    problem = check_result("how many people joined after 2019?", "7", "WHERE start_year >= 2019", [])
    assert "> 2019" in problem and ">= 2019" in problem and not problem.startswith("answer shape")


def test_a_list_of_items_that_repeats_them_is_asked_again() -> None:
    table = {"columns": ["genre"], "rows": [["sci-fi"], ["literary"], ["sci-fi"], ["classic"]]}
    problem = check_result("Which genres have an average book price above 14 euros?", "genre\nsci-fi", "", [], [table])
    assert "repeats items (sci-fi 2 times)" in problem and "GROUP BY" in problem
    once = {"columns": ["genre"], "rows": [["classic"], ["literary"]]}
    assert (
        check_result("Which genres have an average book price above 14 euros?", "genre\nclassic", "", [], [once]) == ""
    )

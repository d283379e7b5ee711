"""The numerical specialist's word-problem recognisers (``num_words``) and their executors.

Recognisers need only the standard library; executors need sympy and scipy (in the image),
and skip cleanly where they are missing. Expected values are computed here independently
(``statistics``, ``math.comb``, closed-form integrals), never copied from the executor.
"""

from __future__ import annotations

import math
import statistics
from types import ModuleType
from typing import Any

import pytest

from tests.unit.specialist_code import load_handler, specialist_folder

specialist_folder("numerical")  # its modules import by bare name

from num_recognise import recognise  # noqa: E402
from switchboard_runtime.api import SpecialistError  # noqa: E402


def _handler() -> ModuleType:
    return load_handler("numerical")


@pytest.fixture
def math_stack() -> None:
    for name in ("sympy", "numpy", "scipy"):
        pytest.importorskip(name)


def _value(text: str) -> Any:
    plan = recognise(text, has_csv=False)
    assert plan is not None, text
    return _handler().run(plan, None, None).data["value"]


# -- a statistic of numbers written in the text ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stat", "values"),
    [
        ("lab readings in mg/L: 4.1 3.9 4.4 4.0 4.2 -- what is the sample standard deviation?", "std", 5),
        ("Temperatures this week were 21, 23, 19, 25, 22, 20 and 24 degrees. What was the average?", "mean", 7),
        ("population variance of 2; 4; 4; 4; 5; 5; 7; 9", "pvariance", 8),
        ("My five test scores: 71, 88, 93, 65, 80. Median?", "median", 5),
    ],
)
def test_one_statistic_of_a_written_list_is_recognised(text: str, stat: str, values: int) -> None:
    plan = recognise(text, has_csv=False)
    assert plan is not None and plan["op"] == "statistics" and plan["stat"] == stat
    assert plan["values"].count(",") == values - 1


@pytest.mark.parametrize(
    "text",
    [
        "scores: 55, 67, 80, 91, 45 -- what is the mean after removing the lowest?",
        "mean and median of 3 5 7 9",
        "the weighted average of 3, 5, 7 with weights 1, 2, 3",
        "values 4, 8, 15, 16, 23, 42: what is the mean of the values above 10?",
        "what percentage of 12, 15, 18 is above the mean?",
        "sample and population standard deviation of 1 2 3 4",
    ],
)
def test_a_list_with_another_ask_is_left_to_the_model(text: str) -> None:
    plan = recognise(text, has_csv=False)
    assert plan is None or plan["op"] != "statistics"


def test_sample_and_population_spread_differ(math_stack: None) -> None:
    data = [4.1, 3.9, 4.4, 4.0, 4.2, 4.6]
    listed = " ".join(str(v) for v in data)
    assert _value(f"readings {listed}: sample standard deviation?") == pytest.approx(statistics.stdev(data))
    assert _value(f"readings {listed}: population standard deviation?") == pytest.approx(statistics.pstdev(data))


# -- binomial probability ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "n", "k", "p", "relation"),
    [
        ("If I flip a fair coin 10 times, what's the probability of getting exactly 3 heads?", 10, 3, "1/2", "=="),
        ("Roll a fair die 5 times. What is the probability of getting exactly 2 sixes?", 5, 2, "1/6", "=="),
        ("A player makes 70% of free throws. She takes 8 shots: probability she makes at least 6?", 8, 6, "7/10", ">="),
        (
            "Each seed germinates with probability 0.9. Out of 12 seeds, what is the chance at most 10 sprout?",
            12,
            10,
            "9/10",
            "<=",
        ),
        ("toss 5 fair coins; probability that exactly 2 coins show heads?", 5, 2, "1/2", "=="),
        ("flip a fair coin three times: chance of exactly two heads?", 3, 2, "1/2", "=="),
    ],
)
def test_binomial_questions_name_n_k_and_p(text: str, n: int, k: int, p: str, relation: str) -> None:
    plan = recognise(text, has_csv=False)
    assert plan == {"op": "binomial", "trials": n, "successes": k, "relation": relation, "p": p}


@pytest.mark.parametrize(
    "text",
    [
        "flip a fair coin 10 times: probability of 3 heads in a row?",
        "draw 5 cards from a deck: probability of exactly 2 aces?",
        "a coin is flipped 10 times; what is the expected number of heads?",
        "flip a coin 10 times, probability of exactly 3 heads",  # fairness not stated
        "roll a die 6 times and a coin 3 times: probability of exactly 2 sixes",
    ],
)
def test_binomial_is_not_guessed(text: str) -> None:
    plan = recognise(text, has_csv=False)
    assert plan is None or plan["op"] != "binomial"


def test_binomial_values_match_the_formula(math_stack: None) -> None:
    exact3 = math.comb(10, 3) / 2**10
    assert _value("If I flip a fair coin 10 times, what's the probability of getting exactly 3 heads?") == exact3
    at_least_6 = sum(math.comb(8, i) * 0.7**i * 0.3 ** (8 - i) for i in range(6, 9))
    assert _value("A player makes 70% of free throws. She takes 8 shots: probability she makes at least 6?") == (
        pytest.approx(at_least_6)
    )


# -- areas ------------------------------------------------------------------------------------


def test_area_between_curves_uses_their_crossings(math_stack: None) -> None:
    # y = x^2 and y = 2x meet at 0 and 2; the area is the integral of 2x - x^2 = 4/3
    assert _value("Find the area enclosed between the parabola y = x^2 and the line y = 2x.") == pytest.approx(4 / 3)
    # x^2 - 4 and the x-axis: crossings at -2 and 2, area 32/3
    assert _value("area enclosed by y = x^2 - 4 and the x-axis") == pytest.approx(32 / 3)


def test_area_under_a_curve_that_changes_sign_adds_both_parts(math_stack: None) -> None:
    # the signed integral of x^3 over [-1, 1] is 0; the area is 2 * 1/4
    assert _value("area bounded by y = x^3 and the x-axis from x = -1 to x = 1") == pytest.approx(0.5)
    assert _value("What is the area under the curve y = sin(x) from x = 0 to x = 3.14159?") == pytest.approx(
        1 - math.cos(3.14159)
    )


def test_curves_that_never_meet_twice_need_bounds(math_stack: None) -> None:
    plan = recognise("area between y = x and y = x + 1", has_csv=False)
    assert plan is not None and plan["op"] == "area"
    with pytest.raises(SpecialistError, match="give bounds"):
        _handler().run(plan, None, None)


# -- an ODE inside a sentence -----------------------------------------------------------------


def test_logistic_growth_in_words(math_stack: None) -> None:
    text = (
        "A bacterial culture follows dN/dt = 0.5 N (1 - N/1000) with N(0) = 10 (t in hours). "
        "How many bacteria are there after 12 hours?"
    )
    plan = recognise(text, has_csv=False)
    assert plan is not None and plan["op"] == "ode" and plan["function"] == "N" and plan["at"] == 12
    expected = 1000 / (1 + 99 * math.exp(-0.5 * 12))
    result = _handler().run(plan, None, None)
    assert result.data["value"] == pytest.approx(expected, rel=1e-9)
    assert result.answer.startswith("N(12)")


@pytest.mark.parametrize(
    "text",
    [
        "dT/dt = -0.1 (T - 20), T(0) = 90. When does it reach 30 degrees?",
        "dP/dt = 0.03 P with P(0) = 1000 (t in years). What is P after 2 days?",
        "A population follows dP/dt = 0.03 P, P(0) = 1000. How long until it doubles?",
        "dT/dt = -0.1 (T - 20), T(0) = 90. What is the maximum temperature after 10 minutes?",
    ],
)
def test_an_ode_asking_something_else_is_left_to_the_model(text: str) -> None:
    assert recognise(text, has_csv=False) is None


# -- compound interest and percentage change --------------------------------------------------


def test_compound_interest_and_percentage_change(math_stack: None) -> None:
    monthly = "I put 5,000 into a savings account paying 3.2% a year, compounded monthly. How much after 7 years?"
    assert _value(monthly) == pytest.approx(5000 * (1 + 0.032 / 12) ** (12 * 7))
    interest = "If I invest $10k at 5% compounded quarterly, how much interest will I earn in 10 years?"
    assert _value(interest) == pytest.approx(10_000 * (1 + 0.05 / 4) ** 40 - 10_000)
    assert _value("1000 at 4% compounded continuously for 3 years") == pytest.approx(1000 * math.exp(0.12))
    grew = "Revenue went from 84,000 last year to 97,500 this year. By what percentage did it grow?"
    assert _value(grew) == pytest.approx((97_500 - 84_000) / 84_000 * 100)


@pytest.mark.parametrize(
    "text",
    [
        "I put 5,000 into savings at 3.2% compounded monthly and add 100 each month. How much after 7 years?",
        "How long until 5,000 at 3% compounded yearly doubles?",
        "a loan of 20,000 at 6% compounded monthly over 5 years: what is the monthly payment?",
        "Sales fell from 1,200 to 950 between 2021 and 2023. What is the percentage decrease per year?",
        "Sales went from 1,200 to 950 over 3 years: what is the average yearly percentage change?",
    ],
)
def test_money_questions_it_does_not_model_go_to_the_model(text: str) -> None:
    plan = recognise(text, has_csv=False)
    assert plan is None or plan["op"] not in ("compound_interest", "percent_change")


@pytest.mark.parametrize(
    ("text", "goal", "expression"),
    [
        ("Find the minimum value of f(x) = x^2 - 6x + 13.", "minimize", "x^2 - 6x + 13"),
        ("what is the largest value of y = -x^2 + 4x on [0, 3]", "maximize", "-x^2 + 4x"),
        ("minimize x^2 + 4x + 1", "minimize", "x^2 + 4x + 1"),
    ],
)
def test_extremum_phrasings(text: str, goal: str, expression: str) -> None:
    plan = recognise(text, has_csv=False)
    assert plan is not None and plan["op"] == "minimize" and plan["goal"] == goal and plan["expression"] == expression

"""The helpers scraping programs call: texts, numbers and current prices read the way people write them."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from app.engine.llm.scrape_helpers import HELPERS, add_scrape_helpers

PAGE = """<ul><li class="card"><h2>Trowel</h2><span class="price">12,90&nbsp;€ <del>18,00 €</del></span></li>
<li class="card"><h2>Hose</h2><span class="price"><s>$1,499.00</s> $1,299.00</span></li>
<li class="card"><h2>Rake</h2></li></ul>"""


@pytest.fixture
def helpers() -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(HELPERS, "helpers", "exec"), namespace)  # noqa: S102 - our own source
    return namespace


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12,90 €", 12.9),
        ("$1,299.00", 1299.0),
        ("1.234,50 EUR", 1234.5),
        ("CHF 1'250", 1250.0),
        ("−3,5 °C", -3.5),
        ("12 345 678", 12345678.0),
        ("4.5 stars", 4.5),
        ("1,299", 1299.0),
        ("0,5 l", 0.5),
        ("no price", None),
        ("", None),
    ],
)
def test_to_number_reads_numbers_as_people_write_them(
    helpers: dict[str, object], text: str, number: float | None
) -> None:
    assert helpers["to_number"](text) == number  # type: ignore[operator]


def test_texts_and_current_prices_skip_old_prices_and_missing_nodes(helpers: dict[str, object]) -> None:
    tree = LexborHTMLParser(PAGE)
    cards = tree.css("li.card")
    price_of, text_of = helpers["price_of"], helpers["text_of"]
    assert [text_of(c, "h2") for c in cards] == ["Trowel", "Hose", "Rake"]  # type: ignore[operator]
    assert [price_of(c, ".price") for c in cards] == [12.9, 1299.0, None]  # type: ignore[operator]
    assert text_of(cards[2], ".price") == "" and text_of(None) == ""  # type: ignore[operator]
    assert "18,00" in text_of(cards[0], ".price"), "the page itself is not changed by price_of"  # type: ignore[operator]


def test_helpers_are_added_only_to_programs_that_call_them_undefined() -> None:
    uses = "print(to_number('3 €'))\n"
    assert add_scrape_helpers(uses).startswith(HELPERS)
    own = "def to_number(t):\n    return 1\nprint(to_number('x'))\n"
    assert add_scrape_helpers(own) == own
    assert add_scrape_helpers("print(1)\n") == "print(1)\n"
    namespace: dict[str, object] = {}
    exec(compile(add_scrape_helpers(uses).replace("print(", "value = ("), "p", "exec"), namespace)  # noqa: S102
    assert namespace["value"] == 3.0

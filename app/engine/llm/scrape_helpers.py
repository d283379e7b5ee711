"""Helpers a web-scraping program may call without defining them: texts, numbers, prices.

Reading ``12,90 €``, ``$1,299.00`` or a price with the crossed-out old one inside it is where a
small model's scraping programs fail most (``float('12.90 €')``, ``None.text()``). The guide
tells the model that :data:`NAMES` exist; :func:`add_scrape_helpers` puts their definitions
at the top of a program that calls one without defining it, so the program shown and stored
is complete and runs anywhere selectolax is installed.
"""

from __future__ import annotations

import re

__all__ = ["HELPERS", "NAMES", "add_scrape_helpers"]

NAMES = ("text_of", "to_number", "price_of")

HELPERS = r'''import re as _re

from selectolax.lexbor import LexborHTMLParser as _Parser


def text_of(node, css=None):
    """The stripped text of node (or of its first match for css); "" when there is none."""
    if node is not None and css is not None:
        node = node.css_first(css)
    if node is None:
        return ""
    return " ".join(node.text(separator=" ", strip=True).split())


def to_number(value):
    """The first number in a text (or a node's text) as a float, or None when there is none.

    Currency signs, spaces, thousands separators and a decimal comma are read: '12,90 €' is
    12.9, '$1,299.00' is 1299.0, '1.234,50' is 1234.5.
    """
    text = value if isinstance(value, str) else text_of(value)
    match = _re.search(r"[-\u2212]?\d[\d.,\u00a0\u202f' ]*", text or "")
    if match is None:
        return None
    digits = _re.sub(r"[\u00a0\u202f' ]", "", match.group(0)).replace("\u2212", "-").rstrip(".,")
    if "," in digits and "." in digits:
        thousands = "." if digits.rfind(",") > digits.rfind(".") else ","
        digits = digits.replace(thousands, "").replace(",", ".")
    elif "," in digits:  # 1,299 or 12,345,678: thousands; 12,90: a decimal comma
        digits = digits.replace(",", "") if _re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", digits) else digits.replace(",", ".")
    elif digits.count(".") > 1:
        digits = digits.replace(".", "")
    try:
        return float(digits)
    except ValueError:
        return None


def price_of(node, css=None):
    """The current price in node (or in its first match for css): crossed-out old prices are skipped."""
    if node is not None and css is not None:
        node = node.css_first(css)
    if node is None:
        return None
    copy = _Parser(node.html or "")
    for old in copy.css("del, s, strike, .old, .was, .old-price, .price-old"):
        old.decompose()
    return to_number(text_of(copy.body))

'''


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:def\s+{name}\b|{name}\s*=|from\s+\S+\s+import\s+.*\b{name}\b)", code, re.M) is not None


def add_scrape_helpers(code: str) -> str:
    """``code`` with :data:`HELPERS` put first when it calls a helper it does not define."""
    if any(re.search(rf"\b{name}\s*\(", code) and not _defines(code, name) for name in NAMES):
        return HELPERS + code
    return code

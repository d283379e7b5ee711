"""Cells of a loaded table as numbers when they are numbers as people write them.

One reader for every table the SQL program loads (CSV/TSV text, JSON values, HTML cells) and
for the previews the model is shown, so a column previewed as a number is one in the query.
Standard library only: the source is also put into the program the sandbox runs
(:func:`app.engine.llm.sql_program.wrap_sql`).
"""

from __future__ import annotations

import re

__all__ = ["number"]

AMOUNT = re.compile(
    r"(?P<cur>[$€£¥₹]\s?)?(?P<num>-?[\d.,\s\u00a0\u202f]*\d)\s?(?P<unit>[$€£¥₹%]|EUR|USD|GBP|CHF)?(?P<mult>[kKmM]|bn)?"
)
SCALE = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000, "bn": 1_000_000_000}


def number(text: str, delimiter: str = ",") -> str | int | float:
    """A numeric cell as a number, so sums and comparisons work; any other cell as text.

    Currency signs and a percent sign are dropped; '1,234.50' and, where commas do not separate
    cells (``delimiter`` other than ','), '1.234,50' or '14863,45' (decimal comma) are read as
    the numbers they mean; a money amount with k, M or bn ('€58k') is multiplied out. Codes with
    a leading zero ('01234') stay text.
    """
    text = text.strip()
    if not text or (len(text) > 1 and text[0] == "0" and text[1].isdigit()):
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    match = AMOUNT.fullmatch(text)
    if not match or (match.group("mult") and not (match.group("cur") or match.group("unit"))):
        return text
    digits = re.sub(r"[\s\u00a0\u202f]", "", match.group("num"))
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", digits):  # 1,234.50
        digits = digits.replace(",", "")
    elif delimiter != "," and re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+(?:,\d+)?|-?\d+,\d+", digits):  # 1.234,50
        digits = digits.replace(".", "").replace(",", ".")
    try:
        value: int | float = float(digits) if "." in digits else int(digits)
    except ValueError:
        return text
    if match.group("mult"):
        value = value * SCALE[match.group("mult")]
    return value

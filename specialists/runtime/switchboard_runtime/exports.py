"""Cells of CSV files a specialist writes for the user to open in a spreadsheet.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets (CSV/formula injection: ``=HYPERLINK(...)``,
``=cmd|...``), so such cells get a leading apostrophe, which spreadsheets show as text.
Numbers are left alone: ``-3.5`` is a value, not a formula.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_STARTS", "safe_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
        return value  # a signed number such as "-3.5" or "+1e3"
    except ValueError:
        return "'" + value

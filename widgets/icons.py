"""Icons drawn for Switchboard (``resources/icons/*.svg``), cached per name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

__all__ = ["RESOURCES", "icon"]

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


@cache
def icon(name: str) -> QIcon:
    """The SVG icon ``name``, or the generic specialist icon when there is none."""
    path = RESOURCES / "icons" / f"{name}.svg"
    if not path.exists():
        path = RESOURCES / "icons" / "specialist.svg"
    return QIcon(str(path))

"""Number formatting and state colours shared by the views (pure functions, no Qt)."""

from __future__ import annotations

__all__ = ["STATE_COLOURS", "fmt_bytes", "fmt_cost", "fmt_ms", "fmt_pct", "state_colour"]

# One colour per state, readable on both the dark and the light theme.
STATE_COLOURS: dict[str, str] = {
    "running": "#2fa35a",
    "succeeded": "#2fa35a",
    "ok": "#2fa35a",
    "starting": "#d69a1d",
    "building": "#d69a1d",
    "queued": "#8893a2",
    "routed": "#2f7de1",
    "degraded": "#d69a1d",
    "unhealthy": "#d0463c",
    "failed": "#d0463c",
    "down": "#d0463c",
    "exited": "#d0463c",
    "dead": "#d0463c",
    "stopped": "#8893a2",
    "paused": "#5b7fb8",
    "quarantined": "#b03a8a",
    "not_built": "#8893a2",
    "cancelled": "#8893a2",
    "unknown": "#8893a2",
}


def state_colour(state: str) -> str:
    """Colour for a state name; unknown states are neutral grey."""
    return STATE_COLOURS.get(state, "#8893a2")


def fmt_bytes(value: float | None) -> str:
    """``123 MB`` style, or an en dash when unknown."""
    if value is None:
        return "–"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def fmt_ms(value: float | None) -> str:
    """Milliseconds below 1 s, seconds above; en dash when unknown."""
    if value is None:
        return "–"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60_000:.1f} min"


def fmt_pct(value: float | None, digits: int = 0) -> str:
    """A fraction 0..1 as a percentage."""
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def fmt_cost(value: float | None) -> str:
    """Notional cost; tiny values keep enough digits to be non-zero."""
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value < 0.01 else f"${value:.2f}"

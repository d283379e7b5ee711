"""Crash loops: capped exponential backoff between restarts, then quarantine until released.

A crash is a container that died or failed to become ready. The first crash within
``window_s`` restarts at once (a task waiting for its retry should not wait); after the
``n``-th (n ≥ 2) the specialist may start again only after
``min(backoff_s × 2^(n-2), backoff_max_s)``; at ``quarantine_after`` crashes within the window
it is quarantined: nothing of it starts until the user releases it. A task that ran to the
end resets the count. Pure logic over an injected monotonic ``now``; the lifecycle holds the
lock around it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["CrashGuard", "CrashRecord"]


@dataclass
class CrashRecord:
    """Crashes of one specialist."""

    times: deque[float] = field(default_factory=deque)
    last_reason: str = ""
    blocked_until: float = 0.0
    quarantined: str | None = None  # the reason, in words


class CrashGuard:
    """Backoff and quarantine decisions for every specialist."""

    def __init__(self, backoff_s: float, backoff_max_s: float, quarantine_after: int, window_s: float) -> None:
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.quarantine_after = quarantine_after
        self.window_s = window_s
        self._records: dict[str, CrashRecord] = {}

    def record(self, specialist: str) -> CrashRecord:
        """The crash record of a specialist (created on first use)."""
        return self._records.setdefault(specialist, CrashRecord())

    def crashed(self, specialist: str, now: float, reason: str) -> tuple[str, float]:
        """Count one crash; returns ``("backoff", wait_s)`` or ``("quarantine", 0)``."""
        rec = self.record(specialist)
        rec.times.append(now)
        while rec.times and rec.times[0] < now - self.window_s:
            rec.times.popleft()
        rec.last_reason = reason
        count = len(rec.times)
        if count >= self.quarantine_after:
            rec.quarantined = (
                f"quarantined after {count} crashes within {self.window_s:g} s (last: {reason}); "
                "release it once the cause is fixed"
            )
            return "quarantine", 0.0
        wait = 0.0 if count == 1 else min(self.backoff_s * 2 ** (count - 2), self.backoff_max_s)
        rec.blocked_until = now + wait
        return "backoff", wait

    def succeeded(self, specialist: str) -> None:
        """A task ran to the end: the crash count starts again."""
        rec = self._records.get(specialist)
        if rec is not None and rec.quarantined is None:
            rec.times.clear()
            rec.blocked_until = 0.0

    def wait_s(self, specialist: str, now: float) -> float:
        """Seconds until the specialist may start again (0 when it may now)."""
        rec = self._records.get(specialist)
        return 0.0 if rec is None else max(0.0, rec.blocked_until - now)

    def quarantine_reason(self, specialist: str) -> str | None:
        """Why the specialist is quarantined, or ``None``."""
        rec = self._records.get(specialist)
        return None if rec is None else rec.quarantined

    def release(self, specialist: str) -> bool:
        """Lift a quarantine and forget the crashes; ``True`` when one was lifted."""
        rec = self._records.pop(specialist, None)
        return rec is not None and rec.quarantined is not None

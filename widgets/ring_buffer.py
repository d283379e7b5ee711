"""Fixed-capacity (timestamp, value) ring buffer on numpy arrays, for live charts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["RingBuffer"]


class RingBuffer:
    """Appends are O(1); :meth:`arrays` returns the contents oldest-first as two views/copies."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._t = np.empty(capacity, dtype=np.float64)
        self._v = np.empty(capacity, dtype=np.float64)
        self._start = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def clear(self) -> None:
        """Forget every point."""
        self._start = 0
        self._size = 0

    def append(self, ts: float, value: float) -> None:
        """Add one point, overwriting the oldest when full."""
        end = (self._start + self._size) % self.capacity
        self._t[end] = ts
        self._v[end] = value
        if self._size < self.capacity:
            self._size += 1
        else:
            self._start = (self._start + 1) % self.capacity

    def extend(self, ts: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray) -> None:
        """Replace the contents with these points (sorted by time); keeps the newest if too many."""
        t = np.asarray(ts, dtype=np.float64)[-self.capacity :]
        v = np.asarray(values, dtype=np.float64)[-self.capacity :]
        order = np.argsort(t, kind="stable")
        n = len(t)
        self._t[:n] = t[order]
        self._v[:n] = v[order]
        self._start = 0
        self._size = n

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps, values) oldest first."""
        end = self._start + self._size
        if end <= self.capacity:
            return self._t[self._start : end], self._v[self._start : end]
        idx = np.r_[self._start : self.capacity, 0 : end - self.capacity]
        return self._t[idx], self._v[idx]

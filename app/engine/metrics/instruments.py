"""Labelled counters, gauges and histograms: thread-safe, dictionary-cheap.

Events reach the metrics on many engine threads (dispatcher workers, the stats monitor, the
health loop), so every instrument guards its series with its own lock; an update is one dict
lookup and one addition under that lock. Label values are positional, in the order of
``labelnames``. Instruments fed with free text (reasons, decision kinds) take ``max_series``:
past that many series, new label sets are counted under ``other`` so a scrape never grows
without bound.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Mapping, Sequence

from app.engine.metrics.exposition import MetricFamily, Sample, check_label_name, check_metric_name

__all__ = ["DURATION_BUCKETS", "Counter", "Gauge", "Histogram", "Instrument"]

DURATION_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
OTHER = "other"

Key = tuple[str, ...]


class Instrument:
    """Shared part: name, help, label names, a lock and the series cap."""

    kind = "untyped"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = (), *, max_series: int = 10_000) -> None:
        self.name = check_metric_name(name)
        self.help = help
        self.labelnames = tuple(check_label_name(n) for n in labelnames)
        self.max_series = max_series
        self._lock = threading.Lock()

    def _key(self, values: Sequence[str], known: Mapping[Key, object]) -> Key:
        """Label values as a key; call with the lock held (the cap reads ``known``)."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(values)}")
        key = tuple(str(v) for v in values)
        if key not in known and len(known) >= self.max_series:
            return (OTHER,) * len(key)
        return key

    def _pairs(self, key: Key) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self.labelnames, key, strict=True))

    def collect(self) -> MetricFamily:
        """A consistent snapshot of every series."""
        raise NotImplementedError


class Counter(Instrument):
    """A value that only goes up (resets only when the engine restarts)."""

    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = (), *, max_series: int = 10_000) -> None:
        super().__init__(name, help, labelnames, max_series=max_series)
        self._values: dict[Key, float] = {} if self.labelnames else {(): 0.0}  # unlabelled: 0 from the start

    def inc(self, values: Sequence[str] = (), amount: float = 1.0) -> None:
        """Add ``amount`` (>= 0) to the series named by ``values``."""
        if amount < 0 or math.isnan(amount):
            raise ValueError(f"{self.name}: a counter cannot go down (got {amount})")
        with self._lock:
            key = self._key(values, self._values)
            self._values[key] = self._values.get(key, 0.0) + amount

    def mirror(self, values: Sequence[str], total: float) -> None:
        """Copy a monotonic total kept elsewhere (the store writer's counts) at scrape time."""
        with self._lock:
            key = self._key(values, self._values)
            self._values[key] = max(self._values.get(key, 0.0), float(total))

    def value(self, values: Sequence[str] = ()) -> float:
        """Current value of one series (0 when never incremented)."""
        with self._lock:
            return self._values.get(tuple(values), 0.0)

    def collect(self) -> MetricFamily:
        """Samples sorted by labels so consecutive scrapes read alike."""
        with self._lock:
            items = sorted(self._values.items())
        return MetricFamily(self.name, self.kind, self.help, [Sample("", self._pairs(k), v) for k, v in items])


class Gauge(Instrument):
    """A value that goes up and down; series can be removed (a container that is gone)."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = (), *, max_series: int = 10_000) -> None:
        super().__init__(name, help, labelnames, max_series=max_series)
        self._values: dict[Key, float] = {} if self.labelnames else {(): 0.0}  # unlabelled: 0 from the start

    def set(self, values: Sequence[str], value: float) -> None:
        """Set the series named by ``values``."""
        with self._lock:
            key = self._key(values, self._values)
            self._values[key] = float(value)

    def inc(self, values: Sequence[str] = (), amount: float = 1.0) -> None:
        """Add ``amount`` (may be negative)."""
        with self._lock:
            key = self._key(values, self._values)
            self._values[key] = self._values.get(key, 0.0) + amount

    def remove(self, values: Sequence[str]) -> None:
        """Drop one series (absent afterwards, not zero)."""
        with self._lock:
            self._values.pop(tuple(values), None)

    def remove_where(self, keep: Callable[[dict[str, str]], bool]) -> int:
        """Drop every series whose labels make ``keep`` return False; returns how many."""
        with self._lock:
            gone = [k for k in self._values if not keep(dict(zip(self.labelnames, k, strict=True)))]
            for key in gone:
                del self._values[key]
        return len(gone)

    def value(self, values: Sequence[str] = ()) -> float | None:
        """Current value of one series, None when absent."""
        with self._lock:
            return self._values.get(tuple(values))

    def collect(self) -> MetricFamily:
        """Samples sorted by labels."""
        with self._lock:
            items = sorted(self._values.items())
        return MetricFamily(self.name, self.kind, self.help, [Sample("", self._pairs(k), v) for k, v in items])


class _Series:
    __slots__ = ("counts", "sum")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)  # last slot: above the highest bound (+Inf only)
        self.sum = 0.0


class Histogram(Instrument):
    """Observations counted into fixed buckets; written cumulatively with ``+Inf``."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float] = DURATION_BUCKETS,
        max_series: int = 10_000,
    ) -> None:
        super().__init__(name, help, labelnames, max_series=max_series)
        if "le" in self.labelnames:
            raise ValueError(f"{name}: 'le' is reserved for histogram buckets")
        bounds = sorted(float(b) for b in buckets if not math.isinf(b))
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"{name}: buckets must be distinct finite numbers, got {tuple(buckets)}")
        self.bounds: tuple[float, ...] = tuple(bounds)
        self._series: dict[Key, _Series] = {}

    def observe(self, values: Sequence[str], value: float) -> None:
        """Count one observation (seconds, for the duration histograms)."""
        if math.isnan(value):
            return
        index = bisect.bisect_left(self.bounds, value)  # le is inclusive: value == bound counts
        with self._lock:
            key = self._key(values, self._series)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(len(self.bounds))
            series.counts[index] += 1
            series.sum += value

    def count(self, values: Sequence[str] = ()) -> int:
        """Observations in one series."""
        with self._lock:
            series = self._series.get(tuple(values))
            return sum(series.counts) if series else 0

    def collect(self) -> MetricFamily:
        """``_bucket`` lines (cumulative, ``+Inf`` last), then ``_sum`` and ``_count``."""
        with self._lock:
            snap = sorted((k, list(s.counts), s.sum) for k, s in self._series.items())
        samples: list[Sample] = []
        for key, counts, total in snap:
            pairs = self._pairs(key)
            running = 0
            for bound, n in zip(self.bounds, counts, strict=False):
                running += n
                samples.append(Sample("_bucket", (*pairs, ("le", _le(bound))), running))
            running += counts[-1]
            samples.append(Sample("_bucket", (*pairs, ("le", "+Inf")), running))
            samples.append(Sample("_sum", pairs, total))
            samples.append(Sample("_count", pairs, running))
        return MetricFamily(self.name, self.kind, self.help, samples)


def _le(bound: float) -> str:
    return str(int(bound)) if bound.is_integer() else repr(bound)

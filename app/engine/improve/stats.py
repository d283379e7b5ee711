"""The figures variants are judged by: outcome tallies, p95 latency, P(candidate better).

Success is modelled per variant as an unknown rate with a Beta(1, 1) (uniform) prior, so after
``s`` successes and ``f`` failures the posterior is Beta(1 + s, 1 + f). The probability that
one rate exceeds another is computed exactly (a finite sum, valid because the posterior's
first parameter is a whole number), not by sampling: the promotion rule must give the same
answer every time it is asked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "PRIOR",
    "Tally",
    "p95",
    "p95_lower_bound",
    "p95_upper_bound",
    "percentile",
    "prob_better",
    "quantile_lower_bound",
    "quantile_upper_bound",
]

PRIOR = (1, 1)  # Beta(alpha, beta) before any outcome: every success rate equally plausible


@dataclass
class Tally:
    """Outcomes of one variant: success counts and the latencies measured."""

    successes: int = 0
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def tasks(self) -> int:
        """Outcomes recorded."""
        return self.successes + self.failures

    @property
    def success_rate(self) -> float | None:
        """Observed share of successes (``None`` before the first outcome)."""
        return self.successes / self.tasks if self.tasks else None

    @property
    def p95_ms(self) -> float | None:
        """95th percentile of the measured latencies (``None`` when none was measured)."""
        return p95(self.latencies_ms)

    def add(self, success: bool, latency_ms: float | None = None) -> None:
        """Count one outcome."""
        if success:
            self.successes += 1
        else:
            self.failures += 1
        if latency_ms is not None:
            self.latencies_ms.append(float(latency_ms))

    @classmethod
    def of(cls, outcomes: Iterable[tuple[bool, float | None]]) -> Tally:
        """A tally of ``(success, latency_ms)`` pairs."""
        tally = cls()
        for success, latency in outcomes:
            tally.add(success, latency)
        return tally


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between order statistics."""
    data = sorted(values)
    if not data:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def p95(values: Iterable[float]) -> float | None:
    """95th percentile, or ``None`` for no values."""
    return percentile(values, 95.0)


def _binomial_pmf(n: int, p: float) -> list[float]:
    """P(Binomial(n, p) = j) for j = 0..n, in log space (no overflow for large n)."""
    log_p, log_q = math.log(p), math.log1p(-p)
    top = math.lgamma(n + 1)
    return [
        math.exp(top - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * log_p + (n - j) * log_q) for j in range(n + 1)
    ]


def quantile_lower_bound(values: Iterable[float], q: float, confidence: float = 0.95) -> float | None:
    """A lower confidence bound for the ``q`` quantile (0 < q < 1), free of any distribution.

    The k-th smallest of n values lies below the true quantile with probability
    P(Binomial(n, q) >= k); the bound is the largest order statistic for which that
    probability is at least ``confidence``; ``None`` for no values.
    """
    data = sorted(values)
    if not data:
        return None
    pmf = _binomial_pmf(len(data), q)
    tail, best = 0.0, None
    for k in range(len(data), 0, -1):  # tail = P(B >= k), growing as k falls
        tail += pmf[k]
        if tail >= confidence:
            best = data[k - 1]
            break
    return best


def quantile_upper_bound(values: Iterable[float], q: float, confidence: float = 0.95) -> float | None:
    """An upper confidence bound for the ``q`` quantile; ``None`` when there are too few values.

    The k-th smallest lies above the true quantile with probability P(Binomial(n, q) <= k - 1);
    the bound is the smallest order statistic for which that is at least ``confidence``. For
    the 95th percentile at 95 % that needs at least 59 values.
    """
    data = sorted(values)
    if not data:
        return None
    pmf = _binomial_pmf(len(data), q)
    cdf = 0.0
    for k in range(1, len(data) + 1):  # cdf = P(B <= k - 1)
        cdf += pmf[k - 1]
        if cdf >= confidence:
            return data[k - 1]
    return None


def p95_upper_bound(values: Iterable[float], confidence: float = 0.95) -> float | None:
    """The p95 latency is below this with ``confidence`` (``None`` for fewer than 59 values)."""
    return quantile_upper_bound(values, 0.95, confidence)


def p95_lower_bound(values: Iterable[float], confidence: float = 0.95) -> float | None:
    """The p95 latency is above this with ``confidence`` (``None`` for too few values)."""
    return quantile_lower_bound(values, 0.95, confidence)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _p_x_beats_y(a: int, b: float, c: float, d: float) -> float:
    """P(X > Y) for X ~ Beta(a, b), Y ~ Beta(c, d), ``a`` a positive whole number.

    Integrating Y's density against X's survival function, with X's upper tail written as a
    finite binomial-type sum (possible because ``a`` is whole), gives ``a`` terms of Beta
    functions; each term is computed in log space so large counts neither overflow nor lose
    precision.
    """
    log_norm = _log_beta(c, d)
    total = 0.0
    for i in range(a):
        total += math.exp(_log_beta(c + i, d + b) - math.log(b + i) - _log_beta(1 + i, b) - log_norm)
    return total


def prob_better(candidate: Tally, incumbent: Tally) -> float:
    """Posterior probability that the candidate's success rate exceeds the incumbent's."""
    a = PRIOR[0] + candidate.successes
    b = PRIOR[1] + candidate.failures
    c = PRIOR[0] + incumbent.successes
    d = PRIOR[1] + incumbent.failures
    # Sum over the smaller first parameter (the rates are continuous: P(X>Y) = 1 - P(Y>X)).
    p = _p_x_beats_y(a, b, c, d) if a <= c else 1.0 - _p_x_beats_y(c, d, a, b)
    return min(1.0, max(0.0, p))

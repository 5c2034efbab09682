"""Summaries of repeated measurements: the median with a distribution-free confidence interval
for it, and percentiles.

The interval is an order-statistic one: for n independent measurements, the true median lies
between the j-th smallest and the j-th largest with probability 1 - 2 P(Binomial(n, 1/2) < j),
whatever the distribution. That probability is exact, so it is reported as the interval's
coverage instead of a nominal 95%: with 5 repetitions the only interval is [min, max] and it
covers 1 - 2 / 32 = 93.75%; with one repetition there is no interval at all.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Estimate:
    median: float
    low: float | None  # confidence interval of the median (order statistics); None with one value
    high: float | None
    n: int
    coverage: float | None = None  # the interval's exact coverage probability

    def to_dict(self) -> dict:
        return asdict(self)

    def interval_label(self, digits: int = 1) -> str:
        """``[93.8% CI 300.1-310.4]`` with the true coverage, or "" where there is no interval."""
        if self.coverage is None:
            return ""
        return f"[{self.coverage * 100:.1f}% CI {self.low:.{digits}f}-{self.high:.{digits}f}]"


def order_coverage(n: int, j: int) -> float:
    """Probability that [x_(j), x_(n+1-j)] (1-based order statistics of n independent draws of a
    continuous quantity) holds the true median."""
    if not 1 <= j <= (n + 1) // 2:
        raise ValueError("need 1 <= j <= (n + 1) / 2")
    return 1 - 2 * sum(math.comb(n, i) for i in range(j)) / 2 ** n


def median_ci(values: list[float], level: float = 0.95) -> Estimate:
    """The median of ``values`` and the narrowest order-statistic interval whose coverage is at
    least ``level``; with too few values for that, [min, max] and its (lower) true coverage. One
    value has no interval."""
    if not values:
        raise ValueError("no measurements")
    med = statistics.median(values)
    n = len(values)
    if n == 1:
        return Estimate(med, None, None, 1, None)
    xs = sorted(values)
    j = 1
    while j + 1 <= n // 2 and order_coverage(n, j + 1) >= level:
        j += 1
    return Estimate(med, xs[j - 1], xs[n - j], n, order_coverage(n, j))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

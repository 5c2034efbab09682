"""Summaries of repeated measurements: median with a bootstrap 95% confidence interval, percentiles."""

from __future__ import annotations

import random
import statistics
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Estimate:
    median: float
    low: float  # 95% confidence interval of the median (percentile bootstrap)
    high: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def median_ci(values: list[float], level: float = 0.95, resamples: int = 2000, seed: int = 0) -> Estimate:
    """The median of ``values`` and a percentile-bootstrap confidence interval for it. Seeded, so
    the same measurements always give the same interval. With one value the interval is that value."""
    if not values:
        raise ValueError("no measurements")
    med = statistics.median(values)
    if len(values) == 1:
        return Estimate(med, med, med, 1)
    rng = random.Random(seed)
    n = len(values)
    meds = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    tail = (1 - level) / 2
    return Estimate(med, meds[int(tail * resamples)], meds[min(resamples - 1, int((1 - tail) * resamples))], n)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

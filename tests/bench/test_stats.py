from __future__ import annotations

import statistics

import pytest

from inhouse.bench.stats import median_ci, percentile


def test_median_ci_brackets_the_median_and_is_reproducible():
    xs = [10.2, 9.8, 10.0, 10.4, 9.9]
    est = median_ci(xs)
    assert est.median == statistics.median(xs)
    assert min(xs) <= est.low <= est.median <= est.high <= max(xs)
    assert median_ci(xs) == est  # seeded
    assert median_ci([3.0]).low == median_ci([3.0]).high == 3.0


def test_wider_spread_gives_a_wider_interval():
    tight = median_ci([10.0, 10.1, 9.9, 10.05, 9.95, 10.02])
    loose = median_ci([10.0, 14.0, 6.0, 12.0, 8.0, 11.0])
    assert (loose.high - loose.low) > (tight.high - tight.low)


def test_percentile_interpolates_like_numpy():
    import numpy as np

    xs = [0.011, 0.012, 0.010, 0.050, 0.013, 0.012, 0.011]
    for q in (50, 90, 99):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))

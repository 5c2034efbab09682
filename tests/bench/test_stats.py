from __future__ import annotations

import random
import statistics

import pytest

from inhouse.bench.stats import median_ci, order_coverage, percentile


def test_median_ci_brackets_the_median_and_states_its_true_coverage():
    xs = [10.2, 9.8, 10.0, 10.4, 9.9]
    est = median_ci(xs)
    assert est.median == statistics.median(xs)
    # five values: the only interval is [min, max], and it covers 1 - 2 * 0.5**5, not 95%
    assert (est.low, est.high) == (min(xs), max(xs))
    assert est.coverage == 1 - 2 * 0.5 ** 5 == 0.9375
    assert est.interval_label() == "[93.8% CI 9.8-10.4]"
    assert median_ci(xs) == est


def test_one_value_has_no_interval():
    est = median_ci([305.0])
    assert est.median == 305.0 and est.low is est.high is est.coverage is None
    assert est.interval_label() == ""


def test_coverage_matches_an_independent_binomial_sum():
    # P(j <= #values below the median <= n - j) counted over all 2**n sign patterns
    import itertools

    for n in range(2, 13):
        for j in range(1, (n + 1) // 2 + 1):
            inside = sum(1 for signs in itertools.product((0, 1), repeat=n) if j <= sum(signs) <= n - j)
            assert order_coverage(n, j) == pytest.approx(inside / 2 ** n)


def test_the_narrowest_interval_that_reaches_95_percent_is_chosen():
    xs = list(range(1, 11))  # 10 values: [x2, x9] covers 97.9%, [x3, x8] only 89.1%
    est = median_ci([float(x) for x in xs])
    assert (est.low, est.high) == (2.0, 9.0)
    assert est.coverage == pytest.approx(1 - 2 * 11 / 1024)


@pytest.mark.parametrize("n", [2, 5, 10, 20])
def test_coverage_holds_by_simulation(n):
    """Skewed (lognormal) timings; the interval holds the true median as often as it says."""
    rng = random.Random(n)
    truth = 1.0  # median of lognormal(0, 0.5) is exp(0)
    sims = 4000
    hits = 0
    coverage = None
    for _ in range(sims):
        est = median_ci([rng.lognormvariate(0, 0.5) for _ in range(n)])
        coverage = est.coverage
        hits += est.low <= truth <= est.high
    assert hits / sims == pytest.approx(coverage, abs=0.02)


def test_wider_spread_gives_a_wider_interval():
    tight = median_ci([10.0, 10.1, 9.9, 10.05, 9.95, 10.02])
    loose = median_ci([10.0, 14.0, 6.0, 12.0, 8.0, 11.0])
    assert (loose.high - loose.low) > (tight.high - tight.low)


def test_percentile_interpolates_like_numpy():
    import numpy as np

    xs = [0.011, 0.012, 0.010, 0.050, 0.013, 0.012, 0.011]
    for q in (50, 90, 99):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))

"""pass@1 intervals checked by simulation against a known true rate."""

from __future__ import annotations

import random

from inhouse.evals.stats import pass_rate, wilson


def simulate(rng, tasks, samples, alpha, beta):
    """Tasks drawn from a population whose mean pass rate is alpha / (alpha + beta); each task's
    own rate from Beta(alpha, beta): most tasks are either easy or hard for the model."""
    rows = []
    for t in range(tasks):
        p = rng.betavariate(alpha, beta)
        rows += [{"task_id": f"t{t}", "outcome": "passed" if rng.random() < p else "wrong_answer"}
                 for _ in range(samples)]
    return rows


def coverage(rate_fn, rng, sims=400, tasks=30, samples=5, alpha=0.6, beta=0.9):
    truth = alpha / (alpha + beta)
    hits = 0
    for _ in range(sims):
        r = rate_fn(simulate(rng, tasks, samples, alpha, beta))
        hits += r.low <= truth <= r.high
    return hits / sims


def naive(rows):
    return wilson(sum(r["outcome"] == "passed" for r in rows), len(rows))


def test_several_samples_per_task_keep_95_percent_coverage():
    rng = random.Random(7)
    clustered = coverage(pass_rate, rng)
    independent = coverage(naive, random.Random(7))
    # treating 5 alike samples of a task as 5 independent draws covers far less than 95%
    assert independent < 0.85
    assert 0.90 <= clustered <= 0.99, clustered


def test_one_sample_per_task_is_plain_wilson_and_counts_stay_true():
    rows = [{"task_id": f"t{i}", "outcome": "passed" if i < 3 else "wrong_answer"} for i in range(10)]
    assert pass_rate(rows) == wilson(3, 10)
    many = [{"task_id": f"t{i % 10}", "outcome": "passed" if i % 10 < 3 else "wrong_answer"} for i in range(50)]
    r = pass_rate(many)
    assert (r.passed, r.n, r.rate) == (15, 50, 0.3)
    assert r.high - r.low > wilson(15, 50).high - wilson(15, 50).low  # alike samples: a wider interval
    none = [{"task_id": f"t{i % 10}", "outcome": "wrong_answer"} for i in range(50)]
    assert pass_rate(none).high == wilson(0, 10).high  # nothing to measure the spread with: tasks count once

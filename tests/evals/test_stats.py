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


# -- compare: paired differences over tasks ---------------------------------------------------------


def test_t_quantile_matches_the_printed_tables():
    from inhouse.evals.stats import t_quantile

    # two-sided 95% critical values from any t table (e.g. Abramowitz & Stegun table 26.10)
    for df, q in [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (29, 2.045)]:
        assert abs(t_quantile(0.95, df) - q) < 1e-3, df
    assert abs(t_quantile(0.99, 9) - 3.250) < 1e-3


def test_skipped_samples_are_not_failures():
    from inhouse.evals.stats import compare

    tasks = [f"t{i}" for i in range(8)]
    a = [{"task_id": t, "outcome": "passed"} for t in tasks]
    # B passes the same tasks but could not pose three of them (e.g. no tools in its template)
    b = [{"task_id": t, "outcome": "skipped" if i < 3 else "passed"} for i, t in enumerate(tasks)]
    r = compare(a, b)
    assert r["tasks"] == 5 and r["tasks_left_out"] == 3
    assert r["a_pass"] == r["b_pass"] == 1.0 and r["difference"] == 0.0 and r["b_worse"] == 0
    # a task with some samples skipped counts its scored samples only
    a2 = [{"task_id": "x", "outcome": "passed"}, {"task_id": "x", "outcome": "skipped"}]
    b2 = [{"task_id": "x", "outcome": "passed"}, {"task_id": "x", "outcome": "wrong_answer"}]
    assert compare(a2, b2)["difference"] == -0.5


def test_compare_interval_brackets_the_difference_and_never_collapses():
    from inhouse.evals.stats import compare

    ties = [{"task_id": f"t{i}", "outcome": "passed" if i % 2 else "wrong_answer"} for i in range(10)]
    r = compare(ties, ties)
    assert r["difference"] == 0 and r["low"] < 0 < r["high"]  # ten ties do not prove "exactly 0"
    a = [{"task_id": f"t{i}", "outcome": "wrong_answer"} for i in range(10)]
    b = [{"task_id": f"t{i}", "outcome": "passed"} for i in range(10)]
    r = compare(a, b)
    assert r["difference"] == 1.0 and 0 < r["low"] <= r["high"] <= 1.0 and r["significant"]


def _paired(rng, tasks, cells):
    """Tasks of a population where both pass, only A, only B, neither with probabilities ``cells``."""
    a, b = [], []
    for t in range(tasks):
        x = rng.random()
        pa, pb = (True, True) if x < cells[0] else (True, False) if x < sum(cells[:2]) else \
            (False, True) if x < sum(cells[:3]) else (False, False)
        a.append({"task_id": f"t{t}", "outcome": "passed" if pa else "wrong_answer"})
        b.append({"task_id": f"t{t}", "outcome": "passed" if pb else "wrong_answer"})
    return a, b


def test_compare_interval_covers_with_ten_tasks():
    """Coverage of the true difference (only-B minus only-A probability) by simulation with 10
    tasks, including a rare one-sided improvement, where a plain t interval covers ~66%."""
    from inhouse.evals.stats import compare

    rng = random.Random(11)
    for cells in [(0.35, 0.10, 0.20, 0.35), (0.40, 0.0, 0.10, 0.50), (0.25, 0.25, 0.25, 0.25)]:
        truth = cells[2] - cells[1]
        sims = 1500
        hits = 0
        for _ in range(sims):
            r = compare(*_paired(rng, 10, cells))
            hits += r["low"] - 1e-12 <= truth <= r["high"] + 1e-12
        assert hits / sims >= 0.93, (cells, hits / sims)


def test_compare_interval_covers_with_several_samples_per_task():
    from inhouse.evals.stats import compare

    rng = random.Random(5)
    hits, sims = 0, 600
    for _ in range(sims):
        a, b = [], []
        for t in range(10):
            p = rng.betavariate(0.6, 0.9)
            q = min(1.0, p + 0.15)  # B is better by up to 15 points on every task
            a += [{"task_id": f"t{t}", "outcome": "passed" if rng.random() < p else "wrong_answer"} for _ in range(3)]
            b += [{"task_id": f"t{t}", "outcome": "passed" if rng.random() < q else "wrong_answer"} for _ in range(3)]
        r = compare(a, b)
        # truth: E[min(1, p + 0.15) - p] for p ~ Beta(0.6, 0.9), by a large independent draw
        hits += r["low"] <= TRUTH_SHIFT <= r["high"]
    assert hits / sims >= 0.93, hits / sims


TRUTH_SHIFT = (lambda rng: sum(min(1.0, p + 0.15) - p for p in (rng.betavariate(0.6, 0.9) for _ in range(200000)))
               / 200000)(random.Random(0))


def test_cli_compare_says_which_tasks_were_left_out():
    from click.testing import CliRunner

    from inhouse.cli import cli
    from inhouse.store import Store

    def row(task, outcome):
        return {"model": "m", "suite": "core", "task_id": task, "category": "c", "sample": 0, "outcome": outcome}

    with Store.open() as store:
        for i in range(6):
            store.save_eval_result("runa", row(f"t{i}", "passed"))
            store.save_eval_result("runb", row(f"t{i}", "skipped" if i < 2 else "passed"))
    out = CliRunner().invoke(cli, ["eval", "--compare", "runa", "runb"], catch_exceptions=False).output
    assert "on 4 tasks both scored: pass 100.0% -> 100.0%" in out
    assert "2 task(s) left out" in out and "95% CI" in out

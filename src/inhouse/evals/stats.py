"""pass@1 with 95% confidence intervals, and whether two runs differ (a paired interval that
holds for few tasks)."""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

Z95 = 1.959963984540054


@dataclass
class Rate:
    passed: int
    n: int
    rate: float | None  # None (JSON null) when nothing was scored: no rate, not 0%
    low: float | None
    high: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def wilson(k: float, n: float, z: float = Z95) -> Rate:
    """The Wilson score interval: sound at small n and at 0% or 100%, unlike the normal one.
    (k and n may be effective, non-integer counts.)"""
    if n == 0:
        return Rate(0, 0, None, None, None)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Rate(k, n, p, max(0.0, centre - half), min(1.0, centre + half))


def pass_rate(rows: list[dict]) -> Rate:
    """pass@1 over scored samples with a 95% interval. With one sample per task this is the
    Wilson interval. With several, samples of one task are alike (a task a model cannot do it
    fails every time), so they are not independent draws: the interval uses the effective
    sample size n * p(1-p) / (n * Var), Var from the per-task totals (the ratio estimator for
    cluster samples), never more than the samples and, when every sample agrees, the tasks."""
    by_task: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_task[r["task_id"]].append(r["outcome"] == "passed")
    n = sum(len(v) for v in by_task.values())
    passed = sum(sum(v) for v in by_task.values())
    k = len(by_task)
    if n == k or n == 0:
        return wilson(passed, n)
    p = passed / n
    mbar = n / k
    var = sum((sum(v) - p * len(v)) ** 2 for v in by_task.values()) / (k * (k - 1) * mbar ** 2) if k > 1 else 0.0
    if 0 < p < 1:
        n_eff = n if var == 0 else min(n, max(1.0, p * (1 - p) / var))
    else:
        n_eff = k  # no spread to measure: count each task once
    r = wilson(p * n_eff, n_eff)
    return Rate(passed, n, p, r.low, r.high)


def summarize(rows: list[dict]) -> dict:
    """rows: {"task_id", "category", "sample", "outcome"}. pass@1 is the share of passed samples:
    per category, overall, and the failure classes counted. Skipped samples (the engine could
    not pose the task) are counted apart and left out of pass@1."""
    skipped = sum(r["outcome"] == "skipped" for r in rows)
    rows = [r for r in rows if r["outcome"] != "skipped"]
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(r)
    cats = {c: pass_rate(rs).to_dict() for c, rs in sorted(by_cat.items())}
    overall = pass_rate(rows).to_dict()
    return {"overall": overall, "categories": cats, "outcomes": dict(Counter(r["outcome"] for r in rows)),
            "skipped": skipped}


@functools.lru_cache(maxsize=256)
def t_quantile(level: float, df: int) -> float:
    """The two-sided Student t quantile: P(|T| <= q) = ``level`` with ``df`` (whole) degrees of
    freedom. The CDF is the closed form for whole df (Abramowitz & Stegun 26.7.3-4), inverted by
    bisection; numpy has no t distribution and this is the only one inhouse needs."""
    if df < 1 or not 0 < level < 1:
        raise ValueError("need df >= 1 and 0 < level < 1")

    def inside(t: float) -> float:  # P(|T| <= t)
        theta = math.atan(t / math.sqrt(df))
        c2, s = math.cos(theta) ** 2, math.sin(theta)
        term = total = 1.0
        if df % 2:
            for k in range(1, (df - 1) // 2):
                term *= 2 * k / (2 * k + 1) * c2
                total += term
            return 2 / math.pi * (theta + (s * math.cos(theta) * total if df > 1 else 0.0))
        for k in range(1, df // 2):
            term *= (2 * k - 1) / (2 * k) * c2
            total += term
        return s * total

    lo, hi = 0.0, 1e7
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if inside(mid) < level else (lo, mid)
    return hi


def _scored_share(rows: list[dict]) -> dict[str, float]:
    """Per task, the share of passed samples among its scored ones; skipped samples (the engine
    could not pose the task) are no outcome at all, and a task with none scored is left out."""
    d: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if r["outcome"] != "skipped":
            d[r["task_id"]].append(r["outcome"] == "passed")
    return {k: sum(v) / len(v) for k, v in d.items()}


def paired_interval(diffs: list[float], level: float = 0.95) -> tuple[float, float]:
    """An interval for the mean of per-task paired differences (each in [-1, 1]) that holds for
    few tasks: a t interval (n - 1 degrees of freedom) on the differences with Agresti and Min's
    adjustment for paired proportions: half a pseudo-task each way (+1 and -1) and one tying
    pseudo-task. Without it, ten tasks that all tie give a zero-width interval at 0, and a rare
    one-sided difference is missed a third of the time; with it, simulated coverage stays at or
    above the level for 5 to 30 tasks (tests/evals/test_stats.py)."""
    n = len(diffs)
    if n < 2:
        return -1.0, 1.0  # one task says nothing about the spread: every difference is possible
    values = list(diffs) + [1.0, -1.0, 0.0]
    weights = [1.0] * n + [0.5, 0.5, 1.0]
    total = n + 2
    mean = sum(w * x for w, x in zip(weights, values)) / total
    var = sum(w * (x - mean) ** 2 for w, x in zip(weights, values)) / total
    half = t_quantile(level, n - 1) * math.sqrt(var / total)
    return max(-1.0, mean - half), min(1.0, mean + half)


def compare(a: list[dict], b: list[dict], level: float = 0.95) -> dict:
    """Paired comparison on the tasks both runs scored: per task, the share of passed samples
    among its scored ones (skipped samples are no outcome, never failures; a task counts only
    where both sides scored it). The mean difference with an interval that holds for few tasks
    (``paired_interval``) and an exact sign test on the tasks where they differ. "significant"
    when the sign test's p < 0.05."""
    pa, pb = _scored_share(a), _scored_share(b)
    common = sorted(set(pa) & set(pb))
    all_tasks = {r["task_id"] for r in a} | {r["task_id"] for r in b}
    diffs = [pb[t] - pa[t] for t in common]
    n = len(diffs)
    mean = sum(diffs) / n if n else 0.0
    low, high = paired_interval(diffs, level)
    better = sum(d > 0 for d in diffs)
    worse = sum(d < 0 for d in diffs)
    m = better + worse
    k = min(better, worse)
    p = min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2 ** m) if m else 1.0
    return {"tasks": n, "tasks_left_out": len(all_tasks) - n, "a_pass": sum(pa[t] for t in common) / n if n else 0.0,
            "b_pass": sum(pb[t] for t in common) / n if n else 0.0, "difference": mean, "level": level,
            "low": low, "high": high, "b_better": better, "b_worse": worse, "p_value": p,
            "significant": p < 0.05}

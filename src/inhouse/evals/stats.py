"""pass@1 with 95% confidence intervals, and whether two runs differ."""

from __future__ import annotations

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


def compare(a: list[dict], b: list[dict]) -> dict:
    """Paired comparison on the tasks both runs have: per task, the share of passed samples;
    the mean difference with a 95% interval (normal approximation over tasks) and an exact sign
    test on the tasks where they differ. "significant" when the sign test's p < 0.05."""
    def per_task(rows):
        d = defaultdict(list)
        for r in rows:
            d[r["task_id"]].append(r["outcome"] == "passed")
        return {k: sum(v) / len(v) for k, v in d.items()}

    pa, pb = per_task(a), per_task(b)
    common = sorted(set(pa) & set(pb))
    diffs = [pb[t] - pa[t] for t in common]
    n = len(diffs)
    mean = sum(diffs) / n if n else 0.0
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else 0.0
    half = Z95 * sd / math.sqrt(n) if n else 0.0
    better = sum(d > 0 for d in diffs)
    worse = sum(d < 0 for d in diffs)
    m = better + worse
    k = min(better, worse)
    p = min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2 ** m) if m else 1.0
    return {"tasks": n, "a_pass": sum(pa[t] for t in common) / n if n else 0.0,
            "b_pass": sum(pb[t] for t in common) / n if n else 0.0, "difference": mean,
            "low": mean - half, "high": mean + half, "b_better": better, "b_worse": worse, "p_value": p,
            "significant": p < 0.05}

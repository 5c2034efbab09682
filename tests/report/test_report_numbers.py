"""Every number the report prints equals the stored figure it came from (read here by SQL)."""

from __future__ import annotations

import json
from collections import defaultdict
from html.parser import HTMLParser

import pytest

from inhouse.report import collect, render
from inhouse.report import fmt


class Marks(HTMLParser):
    """Elements with ``data-value``: (tag, attrs, text inside)."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[dict] = []
        self._open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-value" in a:
            m = {"tag": tag, **a, "text": ""}
            self.marks.append(m)
            self._open.append(m)

    def handle_data(self, data):
        for m in self._open:
            m["text"] += data

    def handle_endtag(self, tag):
        if self._open and self._open[-1]["tag"] == tag:
            self._open.pop()


@pytest.fixture(scope="module")
def rendered(filled_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = render(collect(filled_store), out)
    p = Marks()
    p.feed(files.html.read_text())
    return files, p.marks


def _tds(marks, value):
    return [m for m in marks if m["tag"] == "td" and m["data-value"] == repr(value)]


def test_bench_figures_equal_the_stored_rows(filled_store, rendered):
    _, marks = rendered
    rows = filled_store.conn.execute("SELECT depth, decode_tps, prefill_tps, peak_rss_bytes, result_json "
                                     "FROM bench_results").fetchall()
    assert len(rows) == 2
    for depth, decode, prefill, peak, rj in rows:
        label = json.loads(rj)["label"]
        for value, text in ((decode, fmt.tps(decode)), (prefill, fmt.tps(prefill)), (peak, fmt.size(peak))):
            cells = _tds(marks, value)
            assert cells and all(c["text"] == text for c in cells), (value, cells)
        dots = [m for m in marks if m.get("data-series") == label and m.get("data-x") == repr(depth)]
        assert {d["data-value"] for d in dots} == {repr(decode), repr(prefill)}
        r = json.loads(rj)
        ceiling = r["bandwidth_bytes_per_s"] / r["bytes_per_token"]
        assert _tds(marks, ceiling)[0]["text"] == f"{ceiling:.1f}"


def test_eval_rates_equal_counts_of_stored_rows(filled_store, rendered):
    from inhouse.evals.stats import wilson

    _, marks = rendered
    counts = defaultdict(lambda: [0, 0])
    # skipped samples (the engine could not pose the task) are left out of pass@1, as eval prints it
    for cat, outcome in filled_store.conn.execute("SELECT category, outcome FROM eval_results "
                                                  "WHERE outcome != 'skipped'"):
        counts[cat][0] += outcome == "passed"
        counts[cat][1] += 1
    assert counts
    bars = {m["data-group"]: float(m["data-value"]) for m in marks if m.get("data-group") and m["tag"] == "rect"
            and m.get("data-series", "").endswith(")")}
    for cat, (passed, n) in counts.items():
        assert bars[cat] == passed / n
        w = wilson(passed, n)
        assert 0 <= w.low <= passed / n <= w.high <= 1
        assert any(c["text"] == fmt.rate(w.low) for c in _tds(marks, w.low))
    for m in marks:
        if m["text"].endswith("%"):
            assert 0 <= float(m["data-value"]) <= 1


def test_memory_at_the_fit_runs_context_equals_the_stored_fit(filled_store, rendered):
    _, marks = rendered
    (run,) = filled_store.runs("fit")
    resident = run["result"]["estimate"]["resident_bytes"]
    cells = _tds(marks, resident)
    assert len(cells) >= 2 and all(c["text"] == fmt.size(resident) for c in cells)  # curve at 2k and the fit row


def test_gateway_days_equal_ledger_sums(filled_store, rendered):
    files, marks = rendered
    rows = filled_store.conn.execute(
        "SELECT substr(created_at,1,10), SUM(kind='local'), SUM(kind='cloud'), TOTAL(saved_usd) FROM "
        "gateway_requests GROUP BY 1").fetchall()
    bars = {(m["data-group"], m["data-layer"]): m["data-value"] for m in marks if m.get("data-layer") in ("local", "cloud")}
    for day, local, cloud, saved in rows:
        assert bars[(day, "local")] == repr(local) and bars[(day, "cloud")] == repr(cloud)
        assert any(c["text"] == fmt.usd(saved) for c in _tds(marks, saved))
    total = sum(r[3] for r in rows)
    assert abs(total - 0.037) < 1e-12
    md = files.markdown.read_text()
    assert "| 2026-11-21 | 2 | 0 | $0.03 | $0.03 |" in md

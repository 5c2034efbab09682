"""The report in headless Chromium, network off: no console errors, no network request, every
chart present and non-empty at 1280 and 420 px. Screenshots are kept (the folder is printed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from inhouse.report import collect, render
from tests.report.chromium import Browser, chromium_path

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="needs Chromium (apt-get install chromium)")

CHARTS = """Array.from(document.querySelectorAll('svg.chart')).map(s => {
  const r = s.getBoundingClientRect();
  const marks = Array.from(s.querySelectorAll('.mark')).filter(m => {
    const b = m.getBoundingClientRect(); return b.width > 0 || b.height > 0; });
  return {name: s.dataset.chart, width: r.width, height: r.height, marks: marks.length};
})"""


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("INHOUSE_TEST_ARTIFACTS") or tempfile.mkdtemp(prefix="inhouse-report-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nreport screenshots: {folder}")
    return folder


@pytest.mark.parametrize("width", [1280, 420])
def test_report_renders_offline_with_every_chart(filled_store, artifacts, width):
    files = render(collect(filled_store), artifacts)
    expected = {"decode", "prefill", "eval", "tradeoff", "gateway", "saved"}
    browser = Browser()
    try:
        page = browser.open_page(files.html.as_uri(), width)
        charts = page.evaluate(CHARTS)
        page.screenshot(artifacts / f"report-{width}.png")
        errors, requests = page.errors(), page.requests()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    finally:
        browser.close()
    assert errors == []
    assert requests == [files.html.as_uri()]  # the page itself, nothing else
    names = {c["name"] for c in charts}
    assert expected <= names and any(n.startswith("memory:") for n in names)
    for c in charts:
        assert c["marks"] > 0 and c["width"] > 0.8 * min(width, 460) - 40, c
        assert c["width"] <= width
    assert overflow <= 0  # nothing wider than the window (tables scroll inside their box)

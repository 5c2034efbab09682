"""The report from stores that hold little: fast, no model needed."""

from __future__ import annotations

import json

from click.testing import CliRunner

from inhouse.cli import cli
from inhouse.report import collect, render
from inhouse.store import Store
from tests.report.conftest import add_ledger


def test_empty_store_says_what_to_run(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        data = collect(store)
    assert data.empty and data.gateway is None
    files = render(data, tmp_path / "out")
    html = files.html.read_text()
    assert "inhouse bench" in html and "<svg" not in html
    assert json.loads(files.json.read_text())["bench"] == []


def test_ledger_only_store_has_the_gateway_section(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        add_ledger(store)
        data = collect(store)
    assert data.gateway["totals"]["local"] == 3 and data.gateway["totals"]["cloud"] == 2
    assert [d["day"] for d in data.gateway["days"]] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    html = render(data, tmp_path / "out").html.read_text()
    assert 'data-chart="gateway"' in html and 'data-chart="saved"' in html


def test_cli_writes_the_three_files(tmp_path):
    res = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "r"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for name in ("report.html", "report.md", "report.json"):
        assert (tmp_path / "r" / name).exists()
    assert out["files"]["html"].endswith("report.html")


def test_html_names_no_external_resource(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        add_ledger(store)
        html = render(collect(store), tmp_path / "out").html.read_text()
    # the only URL is the SVG namespace (an identifier, never fetched)
    import re
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"')]*", html))
    assert urls == {"http://www.w3.org/2000/svg"}, urls

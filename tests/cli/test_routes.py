"""``inhouse routes``: the ledger as a user reads it, figures checked against the rows written."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from inhouse.cli import cli
from inhouse.gateway.ledger import Ledger, LedgerRow
from inhouse.store import Store

NOW = dt.datetime.now(dt.timezone.utc)


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def rows():
    """Three today (two kept local, one after a fallback), one cloud request 3 days ago, one rejected
    30 days ago. Written to the store under INHOUSE_HOME, as `inhouse serve` would."""
    made = [
        LedgerRow(id="a" * 32, client_protocol="anthropic", status="ok", created_at=NOW - dt.timedelta(seconds=5),
                  requested_model="claude-sonnet-4", route="claude-*", reasons=["route claude-* -> local, cloud"],
                  backend="local", backend_model="smollm2", kind="local", http_status=200, prompt_tokens=1200,
                  completion_tokens=300, reasoning_tokens=100, tokens_counted="backend", ttft_s=0.2,
                  duration_s=1.5, tool_repairs=1, cost_usd=0.0081, saved_usd=0.0081),
        LedgerRow(id="b" * 32, client_protocol="openai", status="fallback-ok", created_at=NOW - dt.timedelta(seconds=4),
                  requested_model="gpt-4o", route="*", reasons=["default route"], backend="local",
                  backend_model="smollm2", kind="local", http_status=200,
                  fallbacks=[{"backend": "lms", "reason": "connect refused"}], prompt_tokens=50,
                  completion_tokens=20, tokens_counted="local tokenizer", ttft_s=0.4, duration_s=0.9,
                  cost_usd=None, saved_usd=None),
        LedgerRow(id="c" * 32, client_protocol="anthropic", status="error", created_at=NOW - dt.timedelta(seconds=3),
                  requested_model="claude-sonnet-4", route="claude-*", reasons=["route claude-*"],
                  http_status=503, error="every backend failed",
                  fallbacks=[{"backend": "local", "reason": "timeout to first byte"},
                             {"backend": "cloud", "reason": "429", "retry_after_s": 30}], duration_s=30.0),
        LedgerRow(id="d" * 32, client_protocol="anthropic", status="ok", created_at=NOW - dt.timedelta(days=3),
                  requested_model="claude-sonnet-4", route="claude-*", reasons=["sticky session"], backend="cloud",
                  backend_model="claude-sonnet-4", kind="cloud", http_status=200, prompt_tokens=1000,
                  completion_tokens=1000, tokens_counted="backend", ttft_s=0.8, duration_s=5.0, cost_usd=0.018),
        LedgerRow(id="e" * 32, client_protocol="openai", status="rejected", created_at=NOW - dt.timedelta(days=30),
                  http_status=400, error="malformed JSON", duration_s=0.001),
    ]
    with Store.open() as store, Ledger(store) as led:
        for r in made:
            led.write(r)
    return made


def test_json_since_each_span_counts_the_right_rows(rows):
    for since, ids in (("24h", "abc"), ("7d", "abcd"), ("all", "abcde")):
        result = run("routes", "--since", since, "--json")
        assert result.exit_code == 0, result.output
        s = json.loads(result.output)
        sel = [r for r in rows if r.id[0] in ids]
        assert s["requests"] == len(sel)
        assert s["served"] == sum(r.status in ("ok", "fallback-ok") for r in sel)
        assert s["kept_local"] == 2
        assert s["fallbacks"] == 2 and s["failures"] == 1
        assert s["rejected"] == (1 if "e" in ids else 0)
        assert s["prompt_tokens"] == sum(r.prompt_tokens or 0 for r in sel)
        assert s["saved_usd"] == pytest.approx(0.0081)
        assert s["cloud_cost_usd"] == pytest.approx(0.018 if "d" in ids else 0)
        assert s["backends"]["local"]["skipped"] == 1 and s["backends"]["lms"]["skipped"] == 1
        assert [r["id"] for r in s["recent"]] == [r.id for r in sorted(sel, key=lambda r: r.created_at, reverse=True)]


def test_text_summary_shows_the_figures(rows):
    result = run("routes", "--since", "7d")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "4: 3 served, 1 failed, 0 rejected" in out
    assert "kept local    2 of 3 served (66.7%)" in out
    assert "fallbacks     2 request(s)" in out
    assert "2250 prompt, 1320 completion (of which 100 reasoning)" in out
    assert "1 counted with the local tokenizer" in out
    assert "$0.0081" in out and "$0.0180" in out
    assert "1 local request(s) asked for a model with no price" in out
    assert "aaaaaaaaaaaa" in out  # the latest requests, with ids to explain


def test_explain_prints_the_decision(rows):
    result = run("routes", "--explain", "cccccc")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "route         claude-*" in out and "because     route claude-*" in out
    assert "skipped       local: timeout to first byte" in out
    assert "skipped       cloud: 429 (retry_after_s 30)" in out
    assert "outcome       error, HTTP 503: every backend failed" in out
    assert "tokens        not counted" in out
    data = json.loads(run("routes", "--explain", "b" * 32, "--json").output)
    assert data["fallbacks"] == [{"backend": "lms", "reason": "connect refused"}]
    assert data["tokens_counted"] == "local tokenizer"


def test_empty_ledger_says_what_to_do():
    result = run("routes")
    assert result.exit_code == 0 and "inhouse serve" in result.output


@pytest.mark.parametrize("args, needle", [
    (("--since", "yesterday"), "--since"),
    (("--explain", "0123456789"), "No gateway request"),
])
def test_bad_input_is_one_line_error(rows, args, needle):
    result = CliRunner().invoke(cli, ["routes", *args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0]

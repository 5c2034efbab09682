"""`inhouse scan` on text and request bodies, with and without a config."""

from __future__ import annotations

import json

from click.testing import CliRunner

from inhouse.cli import cli


def test_scan_text_and_request(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["scan", "-", "--json"], input="DB=postgres://app:Xq9zLmP2w@db/x\n")
    out = json.loads(res.output)
    assert res.exit_code == 1 and out["private"] and out["input"] == "text"
    assert "Xq9zLmP2w" not in res.output
    body = {"model": "claude-x", "max_tokens": 9, "system": "Working directory: /srv/acme/api",
            "messages": [{"role": "user", "content": "hello"}]}
    res = runner.invoke(cli, ["scan", "-", "--json"], input=json.dumps(body))
    assert res.exit_code == 0 and json.loads(res.output)["private"] is False
    cfg = tmp_path / "serve.toml"
    cfg.write_text('[policy.privacy]\npaths = ["/srv/acme/**"]\n')
    res = runner.invoke(cli, ["scan", "-", "--config", str(cfg)], input=json.dumps(body))
    assert res.exit_code == 1 and "system" in res.output and "PRIVATE" in res.output
    assert "anthropic request" in res.output


def test_scan_bad_config_is_one_line(tmp_path):
    cfg = tmp_path / "serve.toml"
    cfg.write_text('[policy.privacy]\npatterns = ["(bad"]\n')
    res = CliRunner().invoke(cli, ["scan", "-", "--config", str(cfg)], input="x")
    assert res.exit_code == 1 and "patterns" in res.output and len(res.output.strip().splitlines()) == 1

"""No silent unsandboxed scoring: without bubblewrap, eval refuses unless --no-sandbox, and every
result records the isolation it ran under."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from inhouse.engines.fake import FakeEngine, FakeReply
from inhouse.errors import SandboxUnavailable
from inhouse.evals.run import run_eval
from inhouse.evals.tasks import load_suite
from inhouse.sandbox import isolation_report
from inhouse.sandbox import runner
from inhouse.store import Store

TASKS = {t.id: t for t in load_suite("core")}
RIGHT = "```python\ndef reverse_words(s):\n    return ' '.join(reversed(s.split()))\n```"


@pytest.fixture
def no_bubblewrap(monkeypatch):
    why = "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap); running with limits only"
    monkeypatch.setattr(runner, "_bwrap", lambda: (None, why))


def test_run_eval_refuses_to_run_model_code_without_bubblewrap(no_bubblewrap, tmp_path):
    engine = FakeEngine([FakeReply(text=RIGHT)])
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap.*--no-sandbox"):
        run_eval(engine, [TASKS["syn_reverse_words"]], model="fake", suite="core")
    assert engine.history == []  # refused before any request
    # tasks that run no code (tool calls, JSON) need no sandbox
    run = run_eval(FakeEngine([FakeReply(text='{"status": 404}')]), [TASKS["json_http_status"]], model="fake",
                   suite="core")
    assert run.rows[0]["isolation"] is None


def test_no_sandbox_runs_with_limits_only_and_says_so(no_bubblewrap, tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        run = run_eval(FakeEngine([FakeReply(text=RIGHT)]), [TASKS["syn_reverse_words"]], model="fake",
                       suite="core", store=store, sandbox=False)
        stored = store.eval_results(run.eval_id)
    assert run.rows[0]["outcome"] == "passed"
    assert run.rows[0]["isolation"] == stored[0]["isolation"] == "rlimits-only"


@pytest.mark.skipif(isolation_report()["isolation"] != "bubblewrap", reason="needs bubblewrap (apt-get install bubblewrap)")
def test_rows_record_bubblewrap_when_it_ran(tmp_path):
    run = run_eval(FakeEngine([FakeReply(text=RIGHT)]), [TASKS["syn_reverse_words"]], model="fake", suite="core")
    assert run.rows[0]["isolation"] == "bubblewrap" and run.rows[0]["outcome"] == "passed"


def _cli(*args, path="/nonexistent-bin", tmp_path):
    env = {**os.environ, "PATH": path, "INHOUSE_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "inhouse", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_the_cli_refuses_without_bubblewrap_in_one_line(tmp_path):
    """The real command, with bubblewrap off PATH: one line that says how to install it, exit 1."""
    for args in (["eval", "--category", "synthesis", "--limit", "1"], ["eval", "--check", "--limit", "1"]):
        res = _cli(*args, tmp_path=tmp_path)
        assert res.returncode == 1, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "bubblewrap" in lines[0] and "--no-sandbox" in lines[0], res.stderr
        assert "Traceback" not in res.stderr


def test_the_cli_no_sandbox_check_runs_and_json_shows_isolation(tmp_path):
    res = _cli("eval", "--check", "--category", "synthesis", "--limit", "1", "--no-sandbox", "--json",
               tmp_path=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["problems"] == []

"""Running suites: the default model end to end, thinking traces, resume, compare, a real server."""

from __future__ import annotations

import json

from click.testing import CliRunner

from inhouse.cli import cli
from inhouse.engines.fake import FakeEngine, FakeReply
from inhouse.evals.run import run_eval
from inhouse.evals.score import OUTCOMES
from inhouse.evals.stats import compare, summarize, wilson
from inhouse.evals.tasks import load_suite
from inhouse.store import Store

TASKS = {t.id: t for t in load_suite("core")}


def test_default_model_runs_end_to_end_on_a_sample(llama_engine, tmp_path):
    ids = ["syn_reverse_words", "bug_celsius", "edit_add_status", "tw_dedupe", "json_http_status", "tool_one_tool",
           "ag_fix_divide"]
    with Store.open(tmp_path / "s.db") as store:
        run = run_eval(llama_engine, [TASKS[i] for i in ids], model="smollm2", suite="core", max_tokens=160,
                       store=store)
        assert len(store.eval_results(run.eval_id)) == len(ids)
    assert {r["outcome"] for r in run.rows} <= set(OUTCOMES)
    by_id = {r["task_id"]: r for r in run.rows}
    # SmolLM2's chat template has no tools section: posing the task would test the template, not the model
    assert by_id["tool_one_tool"]["outcome"] == by_id["ag_fix_divide"]["outcome"] == "skipped"
    assert all(by_id[i]["completion_tokens"] > 0 for i in ids[:5])
    summary = summarize(run.rows)
    assert summary["overall"]["n"] == 5 and summary["skipped"] == 2
    assert set(summary["categories"]) == {"synthesis", "bugfix", "edit", "test_writing", "structured_output"}


def test_thinking_is_kept_apart_and_counted(tmp_path):
    engine = FakeEngine([FakeReply(text="<think>reverse the split words</think>```python\n"
                                        "def reverse_words(s):\n    return ' '.join(reversed(s.split()))\n```"),
                         FakeReply(text="<think>" + "hmm " * 400)])
    run = run_eval(engine, [TASKS["syn_reverse_words"]], model="fake", suite="core", samples=2, max_tokens=100)
    first, second = sorted(run.rows, key=lambda r: r["sample"])
    assert first["outcome"] == "passed" and first["reasoning_tokens"] > 0 and "think" not in first["answer"]
    assert second["outcome"] == "out_of_tokens_thinking"


def test_resume_skips_what_is_stored(tmp_path):
    tasks = [TASKS["json_http_status"], TASKS["json_version_bump"]]
    with Store.open(tmp_path / "s.db") as store:
        engine = FakeEngine([FakeReply(text='{"code": 404, "meaning": "Not Found"}')])
        first = run_eval(engine, tasks[:1], model="fake", suite="core", store=store)
        engine2 = FakeEngine([FakeReply(text='{"major": 1, "minor": 5, "patch": 0}')])
        again = run_eval(engine2, tasks, model="fake", suite="core", store=store, resume=first.eval_id)
        assert again.eval_id == first.eval_id and again.skipped == 1 and len(engine2.history) == 1
        assert [r["outcome"] for r in store.eval_results(first.eval_id)] == ["passed", "passed"]


def test_a_local_models_runs_record_its_files_hash_and_resume_only_on_that_file(tmp_path):
    import hashlib

    import pytest

    from inhouse.errors import EvalError

    tasks = [TASKS["json_http_status"], TASKS["json_version_bump"]]
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF weights")
    digest = hashlib.sha256(b"GGUF weights").hexdigest()
    with Store.open(tmp_path / "s.db") as store:
        engine = FakeEngine([FakeReply(text='{"code": 404, "meaning": "Not Found"}')])
        engine.model_path = str(gguf)  # what the in-process engine has
        first = run_eval(engine, tasks[:1], model="m", suite="core", store=store, selection={"suite": "core"})
        assert [r["model_sha256"] for r in store.eval_results(first.eval_id)] == [digest]
        assert [tuple(r) for r in store.conn.execute("SELECT model_sha256 FROM eval_results")] == [(digest,)]
        assert [tuple(r) for r in store.conn.execute("SELECT model_sha256 FROM eval_runs")] == [(digest,)]
        gguf.write_bytes(b"GGUF other weights")  # the same name, another model
        other = FakeEngine([FakeReply(text='{"major": 1, "minor": 5, "patch": 0}')])
        other.model_path = str(gguf)
        with pytest.raises(EvalError, match=f"another model file \\(sha256 {digest[:8]}.*Start a new run"):
            run_eval(other, tasks, model="m", suite="core", store=store, resume=first.eval_id)
        assert other.history == []
        # a server's runs have no file: no hash, as before
        served = run_eval(FakeEngine([FakeReply(text='{"code": 404}')]), tasks[:1], model="m @ http://x", suite="core",
                          store=store)
        assert "model_sha256" not in store.eval_results(served.eval_id)[0]


def test_tool_tasks_go_through_the_openai_tools_api_in_parallel(llama_server):
    from inhouse.engines.openai_http import OpenAIEngine

    tools = [t for t in TASKS.values() if t.category == "tool_calling"] + [TASKS["ag_fix_divide"]]
    with OpenAIEngine(llama_server["url"], model=llama_server["model"]) as engine:
        run = run_eval(engine, tools, model="smollm2", suite="core", max_tokens=64, parallel=3)
    assert len(run.rows) == len(tools)
    agent = next(r for r in run.rows if r["task_id"] == "ag_fix_divide")
    assert agent["steps"] >= 1 and agent["ended"] in ("done", "step_limit")
    assert all(r["outcome"] in ("passed", "wrong_answer", "malformed_tool_call", "text_instead_of_tool_call")
               for r in run.rows), [(r["task_id"], r["outcome"], r["detail"]) for r in run.rows]


def test_wilson_interval_and_compare():
    r = wilson(0, 10)
    assert r.low == 0.0 and 0.25 < r.high < 0.35
    r = wilson(5, 10)
    assert r.low < 0.5 < r.high
    a = [{"task_id": f"t{i}", "outcome": "passed" if i < 2 else "wrong_answer"} for i in range(20)]
    b = [{"task_id": f"t{i}", "outcome": "passed" if i < 16 else "wrong_answer"} for i in range(20)]
    c = compare(a, b)
    assert c["significant"] and c["b_better"] == 14 and c["b_worse"] == 0 and c["low"] > 0
    assert not compare(a, a)["significant"]


def test_cli_eval_json_and_compare(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", "--category", "structured_output", "--limit", "2", "--max-tokens", "64", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["overall"]["n"] == 2 and set(data["categories"]) == {"structured_output"}
    first = data["eval_id"]
    again = json.loads(runner.invoke(cli, ["eval", "--category", "structured_output", "--limit", "2",
                                           "--max-tokens", "64", "--json"]).output)["eval_id"]
    text = runner.invoke(cli, ["eval", "--compare", first, again])
    assert text.exit_code == 0 and "sign test" in text.output
    bad = runner.invoke(cli, ["eval", "--compare", "nope", again])
    assert bad.exit_code == 1 and "no stored eval run" in bad.output


def test_cli_check_says_which_task_is_unsound(tmp_path):
    import shutil

    from inhouse.evals.tasks import suite_path

    runner = CliRunner()
    ok = runner.invoke(cli, ["eval", "--check", "--category", "structured_output"])
    assert ok.exit_code == 0 and "4 task(s) of core checked" in ok.output
    suite = tmp_path / "mine"
    shutil.copytree(suite_path("core") / "syn_fibonacci", suite / "fib", ignore=shutil.ignore_patterns("__pycache__"))
    (suite / "fib" / "reference" / "solution.py").write_text("def fibonacci(n):\n    return n\n")
    bad = runner.invoke(cli, ["eval", "--check", "--suite", str(suite), "--json"])
    assert bad.exit_code == 1
    problems = json.loads(bad.output)["problems"]
    assert [p["task_id"] for p in problems] == ["syn_fibonacci"] and "does not pass" in problems[0]["message"]


def test_cli_says_why_tasks_were_skipped():
    result = CliRunner().invoke(cli, ["eval", "--category", "agentic", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "no sample could be scored" in result.output
    assert "no tools section" in result.output and "--chat-template FILE" in result.output

"""The project-shaped categories of the core suite: edit, test writing and agentic.

Each task can be passed (a reference answer passes), and fails what it should: an unchanged
project fails the hidden tests, the reference tests kill every seeded mutant, an agent that does
nothing or calls tools badly gets the failure class that says so.
"""

from __future__ import annotations

import json

import pytest

from inhouse.engines.base import ChatResult
from inhouse.engines.fake import FakeEngine, FakeReply
from inhouse.evals.agent import Workspace, run_agent
from inhouse.evals.extract import extract_files
from inhouse.evals.run import request_for
from inhouse.evals.score import run_pytest, score
from inhouse.evals.tasks import load_suite
from inhouse.sandbox import SandboxLimits

TASKS = {t.id: t for t in load_suite("core")}
LIMITS = SandboxLimits(wall_s=10, cpu_s=10)

def by_category(category):
    return sorted(t.id for t in TASKS.values() if t.category == category)


def reply(text):
    return ChatResult(text=text, finish_reason="stop")


def files_answer(files):
    return "\n\n".join(f"{path}\n```python\n{text}```" for path, text in files.items())


def test_the_suite_has_60_original_tasks_in_every_category():
    cats = {t.category for t in TASKS.values()}
    assert cats == {"synthesis", "bugfix", "edit", "test_writing", "agentic", "tool_calling", "structured_output"}
    assert len(TASKS) >= 60
    assert all(len(by_category(c)) >= 8 for c in ("edit", "test_writing", "agentic"))
    # every task of these kinds has a right answer that tests/evals/test_core_suite.py checks
    assert all(TASKS[t].reference for c in ("edit", "test_writing", "agentic") for t in by_category(c))


@pytest.mark.parametrize("task_id", by_category("edit"))
def test_an_edit_that_changes_nothing_fails(task_id):
    task = TASKS[task_id]
    unchanged = score(task, reply(files_answer(dict(list(task.files.items())[:1]))))
    assert unchanged.outcome == "wrong_answer", unchanged.detail


def test_edit_failure_classes():
    task = TASKS["edit_add_parameter"]
    assert score(task, reply("I would add a parameter.")).outcome == "no_code"
    assert score(task, reply("pricing.py\n```python\ndef price_with_tax(amount, rate=0.2)\n```")).outcome == "syntax_error"
    # a path outside the project is not written anywhere
    assert score(task, reply("../../etc/evil.py\n```python\nx = 1\n```")).outcome == "no_code"


def test_extract_files_reads_the_usual_ways_of_naming_a_file():
    text = ("### src/a.py\n```python\nA = 1\n```\nFile: b.py\n```python\nB = 2\n```\n"
            "```python c.py\nC = 3\n```\n```python\n# d.py\nD = 4\n```\n/etc/passwd\n```python\nE = 5\n```")
    assert extract_files(text, ["x.py"]) == {"src/a.py": "A = 1\n", "b.py": "B = 2\n", "c.py": "C = 3\n",
                                              "d.py": "# d.py\nD = 4\n"}
    assert extract_files("```python\nonly = 1\n```", ["solo.py"]) == {"solo.py": "only = 1\n"}


def test_test_writing_tasks_have_described_mutants():
    for task_id in by_category("test_writing"):
        task = TASKS[task_id]
        assert len(task.mutants) >= 3 and set(task.mutant_notes) == set(task.mutants), task_id


def test_weak_or_wrong_tests_fail():
    task = TASKS["tw_clamp"]
    weak = "from mathx import clamp\n\ndef test_inside():\n    assert clamp(2, 0, 3) == 2\n"
    result = score(task, reply(f"```python\n{weak}```"))
    assert result.outcome == "wrong_answer" and result.detail.startswith("killed 0/3 mutants")
    wrong = "from mathx import clamp\n\ndef test_wrong():\n    assert clamp(5, 0, 3) == 5\n"
    result = score(task, reply(f"```python\n{wrong}```"))
    assert result.outcome == "wrong_answer" and "on the correct code" in result.detail
    empty = "from mathx import clamp\n"
    assert score(task, reply(f"```python\n{empty}```")).outcome == "no_code"  # no test in it
    empty = "from mathx import clamp\n\ndef helper():\n    return 1\n\ndef test_nothing():\n    pass\n"
    assert "mutants" in score(task, reply(f"```python\n{empty}```")).detail


def call(name, **args):
    return (name, json.dumps(args))


@pytest.mark.parametrize("task_id", by_category("agentic"))
def test_agentic_tasks_start_red_and_a_reference_agent_passes(task_id):
    task = TASKS[task_id]
    if task_id != "ag_add_flag":  # a feature to add; the others start with failing tests
        assert not run_pytest(task.files, "tests", LIMITS).green
    writes = [call("write_file", path=p, content=t) for p, t in task.reference.items()]
    engine = FakeEngine([FakeReply(tool_calls=[call("list_files")]),
                         FakeReply(tool_calls=[call("read_file", path=next(iter(task.reference)))]),
                         FakeReply(tool_calls=writes), FakeReply(tool_calls=[call("run_tests")]),
                         FakeReply(text="Fixed: the tests pass.")])
    result, meta = run_agent(engine, task, max_tokens=256, temperature=0.0, seed=0)
    assert result.outcome == "passed", result.detail
    assert meta["steps"] == 5 and meta["ended"] == "done" and meta["bad_calls"] == 0
    # the tools answered: the run_tests result the model saw says the tests pass
    tool_messages = [m for m in engine.history[-1].messages if m["role"] == "tool"]
    assert tool_messages[-1]["content"].startswith("all tests passed")
    assert "tests/" in tool_messages[0]["content"]  # list_files showed the repository


def test_agent_failure_classes():
    task = TASKS["ag_fix_divide"]
    lazy = FakeEngine([FakeReply(text="Change // to / in calc.py.")])
    assert run_agent(lazy, task, max_tokens=64, temperature=0.0, seed=0)[0].outcome == "text_instead_of_tool_call"
    bad = FakeEngine([FakeReply(tool_calls=[("open_file", "{}")]), FakeReply(tool_calls=[("read_file", "{path:")]),
                      FakeReply(text="done")])
    result, meta = run_agent(bad, task, max_tokens=64, temperature=0.0, seed=0)
    assert result.outcome == "malformed_tool_call" and meta["bad_calls"] == 2
    looping = FakeEngine([FakeReply(tool_calls=[call("run_tests")])] * 5)
    result, meta = run_agent(looping, task.__class__(**{**task.__dict__, "max_steps": 3}), max_tokens=64,
                             temperature=0.0, seed=0)
    assert result.outcome == "wrong_answer" and "step limit after 3" in result.detail and meta["ended"] == "step_limit"


def test_workspace_tools_stay_inside_the_repository():
    ws = Workspace({"a.py": "x = 1\n"}, LIMITS)
    assert ws.call("read_file", '{"path": "../etc/passwd"}')[0] is False
    assert ws.call("write_file", '{"path": "/tmp/x.py", "content": "x"}')[0] is False
    assert ws.call("read_file", '{"path": "./a.py"}') == (True, "x = 1\n")
    assert ws.call("write_file", '{"path": "b.py", "content": 3}')[0] is False
    assert ws.call("write_file", '{"path": "pkg/b.py", "content": "y = 2\\n"}') == (True, "wrote pkg/b.py (1 lines)")
    assert ws.call("list_files", "{}") == (True, "a.py\npkg/b.py")


def test_prompts_show_the_project_and_ask_for_paths():
    req = request_for(TASKS["edit_rename_class"], 256, 0.0, 0)
    assert "path on a line of its own" in req.messages[0]["content"]
    assert "factory.py\n```python\nfrom storage import MemStore" in req.messages[1]["content"]
    req = request_for(TASKS["tw_clamp"], 256, 0.0, 0)
    assert "pytest" in req.messages[0]["content"] and "mathx.py\n```python" in req.messages[1]["content"]


def test_a_missing_pytest_is_an_error_not_a_wrong_answer(monkeypatch):
    """Without pytest in inhouse's environment every hidden test would 'fail': say so instead."""
    from inhouse.errors import EvalError
    from inhouse.evals import verdict
    from inhouse.sandbox.runner import SandboxResult

    class NoPytest:  # the sandboxed runner found no pytest
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def wait(self):
            return SandboxResult(status="error", exit_code=3, duration_s=0.01, stdout="INHOUSE_NO_PYTEST\n",
                                 stderr="")

    monkeypatch.setattr(verdict, "Session", NoPytest)
    with pytest.raises(EvalError, match="pip install pytest"):
        score(TASKS["tw_clamp"], reply("```python\nimport mathx\n\ndef test():\n    pass\n```"))

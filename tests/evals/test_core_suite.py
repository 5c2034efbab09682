"""Every task of the core suite can be passed (its reference answer passes) and fails what it
should (bug-fix tasks fail on the buggy file; wrong tool calls are classified); the checker
that proves it (``inhouse eval --check``) catches unsound tasks."""

from __future__ import annotations

import json

import pytest

from inhouse.engines.base import ChatResult, ToolCall
from inhouse.evals.check import check_task
from inhouse.evals.score import score
from inhouse.evals.tasks import load_suite

TASKS = {t.id: t for t in load_suite("core")}


def reply(text="", calls=(), finish="stop"):
    return ChatResult(text=text, tool_calls=[ToolCall(id=str(i), name=n, arguments=a, t=0.0)
                                             for i, (n, a) in enumerate(calls)], finish_reason=finish)


def test_the_core_suite_has_every_category():
    cats = {t.category for t in TASKS.values()}
    assert {"synthesis", "bugfix", "tool_calling", "structured_output"} <= cats
    assert len(TASKS) >= 60


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_every_task_is_sound(task_id):
    """Its reference answer passes, doing nothing fails, mutants are caught, tool answers check."""
    assert check_task(TASKS[task_id]) == []


def test_failure_classes():
    syn = TASKS["syn_reverse_words"]
    assert score(syn, reply("I cannot help with that.")).outcome == "no_code"
    assert score(syn, reply("```python\ndef reverse_words(s)\n    return s\n```")).outcome == "syntax_error"
    assert score(syn, reply("```python\ndef reverse_words(s):\n    while True: pass\n```")).outcome in ("timeout", "wrong_answer")
    assert score(syn, ChatResult(text="", reasoning="let me think" * 50, finish_reason="length")).outcome == \
        "out_of_tokens_thinking"
    tool = TASKS["tool_one_tool"]
    assert score(tool, reply("It is sunny.")).outcome == "text_instead_of_tool_call"
    assert score(tool, reply(calls=[("get_weather", "{city: Paris}")])).outcome == "malformed_tool_call"
    assert score(tool, reply(calls=[("get_forecast", "{}")])).outcome == "malformed_tool_call"
    assert score(tool, reply(calls=[("get_weather", "{}")])).outcome == "malformed_tool_call"
    assert score(tool, reply(calls=[("get_weather", '{"city": 3}')])).outcome == "malformed_tool_call"
    assert score(tool, reply(calls=[("get_weather", '{"city": "Rome"}')])).outcome == "wrong_answer"
    assert score(TASKS["tool_restraint_chitchat"], reply(calls=[("get_weather", '{"city": "Rome"}')])).outcome \
        == "wrong_answer"
    assert score(TASKS["json_http_status"], reply("not json")).outcome == "syntax_error"
    assert score(TASKS["json_http_status"], reply('{"code": "404"}')).outcome == "wrong_answer"


def test_byte_compiled_files_are_not_task_files(tmp_path):
    """pip byte-compiles the installed suite; __pycache__ must not become part of a task."""
    import shutil

    from inhouse.evals.tasks import load_task, suite_path

    src = suite_path("core") / "syn_reverse_words"
    task_dir = tmp_path / "syn_reverse_words"
    shutil.copytree(src, task_dir)
    (task_dir / "tests" / "__pycache__").mkdir(exist_ok=True)  # the installed suite may have one already
    (task_dir / "tests" / "__pycache__" / "test_hidden.cpython-311.pyc").write_bytes(b"\xa7\r\r\n\0\0")
    assert list(load_task(task_dir).tests) == ["test_hidden.py"]


def test_the_checker_catches_unsound_tasks(tmp_path):
    import shutil

    from inhouse.errors import ConfigError
    from inhouse.evals.tasks import load_task, suite_path

    def copy(task_id):
        dest = tmp_path / task_id
        shutil.copytree(suite_path("core") / task_id, dest, ignore=shutil.ignore_patterns("__pycache__"))
        return dest

    bug = copy("bug_celsius")  # the "buggy" file is the fixed one: doing nothing would pass
    (bug / "files" / "solution.py").write_text((bug / "reference" / "solution.py").read_text())
    assert [p.message for p in check_task(load_task(bug))] == \
        ["the files as given already pass the hidden tests: doing nothing would score"]
    syn = copy("syn_chunk")
    (syn / "reference" / "solution.py").write_text("def chunk(items, size):\n    return [items]\n")
    assert check_task(load_task(syn))[0].message.startswith("the reference answer does not pass: wrong_answer")
    shutil.rmtree(syn / "reference")
    assert check_task(load_task(syn))[0].message == "no reference answer (reference/)"
    tw = copy("tw_dedupe")
    shutil.rmtree(tw / "mutants" / "m1")  # the weak reference tests below only catch m3
    (tw / "reference" / "tests" / "test_written.py").write_text(
        "from seqs import dedupe\n\ndef test():\n    assert dedupe([1, 1]) == [1]\n")
    assert "survived: m2" in check_task(load_task(tw))[0].message
    meta = json.loads((tw / "task.json").read_text())
    (tw / "task.json").write_text(json.dumps({**meta, "category": "refactoring"}))
    with pytest.raises(ConfigError, match="use one of synthesis"):
        load_task(tw)

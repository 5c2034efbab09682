"""Checking a task suite before trusting its scores: ``inhouse eval --suite DIR --check``.

A task is sound when its metadata has what its category needs, its reference answer (the files
in ``reference/``, laid over ``files/``) passes, and doing nothing does not: the files as given
fail the hidden tests (bug fix, edit, agentic), and each seeded mutant is caught by the reference
tests (test writing). Tool-calling tasks are checked with their own expected calls; structured
output with ``reference/answer.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..engines.base import ChatResult, ToolCall
from ..sandbox import SandboxLimits
from .score import hidden_test_score, score
from .tasks import Task
from .toolcheck import reference_arguments

CODE = ("synthesis", "bugfix", "edit", "test_writing", "agentic")


@dataclass
class Problem:
    task_id: str
    message: str


def _as_reply(task: Task) -> ChatResult | None:
    ref = task.reference
    if task.category == "tool_calling":
        calls = []
        for i, e in enumerate(task.expected or []):
            args = reference_arguments(e)
            calls.append(ToolCall(id=str(i), name=e["name"], arguments=json.dumps(args), t=0.0))
        return ChatResult(text="" if calls else "No tool is needed for that.", tool_calls=calls, finish_reason="stop")
    if not ref:
        return None
    if task.category == "structured_output":
        return ChatResult(text=ref.get("answer.json", ""), finish_reason="stop")
    if task.category == "edit":
        text = "\n\n".join(f"{path}\n```python\n{body}```" for path, body in ref.items())
        return ChatResult(text=text, finish_reason="stop")
    target = task.answer_file or ("tests/test_written.py" if task.category == "test_writing" else "solution.py")
    if target not in ref:
        return None
    return ChatResult(text=f"```python\n{ref[target]}```", finish_reason="stop")


def check_task(task: Task, limits: SandboxLimits | None = None, isolation: str = "auto") -> list[Problem]:
    limits = limits or SandboxLimits(wall_s=10, cpu_s=10)
    out: list[Problem] = []

    def problem(msg: str) -> None:
        out.append(Problem(task.id, msg))

    if task.category in CODE and task.category != "test_writing" and not task.tests:
        problem("no hidden tests (tests/)")
    if task.category == "test_writing" and not task.mutants:
        problem("no seeded mutants (mutants/<name>/)")
    if task.category == "tool_calling" and (not task.tools or task.expected is None):
        problem("tool-calling tasks need tools and expected calls ([] when no call is right)")
    if task.category == "structured_output" and not task.schema:
        problem("no JSON schema")
    if out:
        return out
    if task.category in ("bugfix", "edit", "agentic") and \
            hidden_test_score(task, task.files, limits, isolation).outcome == "passed":
        problem("the files as given already pass the hidden tests: doing nothing would score")
    if task.category == "agentic":
        if not task.reference:
            problem("no reference answer (reference/)")
        elif hidden_test_score(task, {**task.files, **task.reference}, limits, isolation).outcome != "passed":
            problem("the reference answer fails the hidden tests")
        return out
    reply = _as_reply(task)
    if reply is None:
        problem("no reference answer (reference/)")
        return out
    result = score(task, reply, limits, isolation)
    if result.outcome != "passed":
        problem(f"the reference answer does not pass: {result.outcome}: {result.detail}")
    return out


def check_suite(tasks: list[Task], progress=None, isolation: str = "auto") -> list[Problem]:
    problems: list[Problem] = []
    for task in tasks:
        problems += check_task(task, isolation=isolation)
        if progress:
            progress()
    return problems

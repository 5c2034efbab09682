"""Scoring one reply to one task, with a failure class for everything that is not a pass.

Classes: passed, wrong_answer, timeout, syntax_error, no_code, malformed_tool_call,
text_instead_of_tool_call, out_of_tokens_thinking, context_overflow (the last is set by the runner,
which sees the engine's error). Reasoning (``<think>`` blocks or ``reasoning_content``) is kept
apart from the answer; only the answer is scored.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass

from ..engines.base import ChatResult
from ..sandbox import SandboxLimits
from .extract import extract_code, extract_files, extract_tests
from .tasks import Task
from .toolcheck import check_calls
from .verdict import TestRun, judge_hidden_tests, run_pytest

__all__ = ["OUTCOMES", "Score", "TestRun", "run_pytest", "score", "hidden_test_score", "out_of_tokens_thinking"]

OUTCOMES = ("passed", "wrong_answer", "timeout", "syntax_error", "no_code", "malformed_tool_call",
            "text_instead_of_tool_call", "out_of_tokens_thinking", "context_overflow", "error", "skipped")

@dataclass
class Score:
    outcome: str
    detail: str = ""
    isolation: str | None = None  # bubblewrap, rlimits-only; None where no code ran

    def to_dict(self) -> dict:
        return asdict(self)


def out_of_tokens_thinking(result: ChatResult) -> bool:
    """The reply hit its token limit inside its reasoning: no answer, no call."""
    return (result.finish_reason == "length" and bool(result.reasoning) and not result.text.strip()
            and not result.tool_calls)


def score(task: Task, result: ChatResult, limits: SandboxLimits | None = None, isolation: str = "auto") -> Score:
    """The class of one reply. ``isolation``: "auto" (bubblewrap; the caller checks it works) or
    "rlimits" (resource limits only, as ``--no-sandbox`` asks)."""
    if out_of_tokens_thinking(result):
        return Score("out_of_tokens_thinking", "ran out of tokens inside its reasoning")
    if task.tools:
        calls = [(c.name, c.arguments) for c in result.tool_calls]
        return Score(*check_calls(calls, task.tools, task.expected or []))
    answer = result.text
    if task.category == "structured_output":
        return _score_json(task, answer)
    limits = limits or SandboxLimits(wall_s=10, cpu_s=10)
    if task.category == "edit":
        return _score_edit(task, answer, limits, isolation)
    target = answer_file(task)
    module = target.rsplit("/", 1)[-1].removesuffix(".py")
    if task.category == "test_writing":
        code = extract_tests(answer, module=task.module_under_test or module)
    else:
        code = extract_code(answer, entry_points=entry_points(task), module=module, original=task.files.get(target))
    if code is None:
        return Score("no_code", "no Python code block or parseable code in the reply")
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return Score("syntax_error", f"line {exc.lineno}: {exc.msg}")
    if task.category == "test_writing":
        return _score_test_writing(task, code, limits, isolation)
    if task.prelude:
        code = task.prelude.rstrip() + "\n\n\n" + code
    return hidden_test_score(task, {**task.files, target: code}, limits, isolation)


def answer_file(task: Task) -> str:
    return task.answer_file or ("tests/test_written.py" if task.category == "test_writing" else "solution.py")


def entry_points(task: Task) -> list[str]:
    """The names the hidden tests import from the answer's module: what the answer must define."""
    if task.entry_point:
        return [task.entry_point]
    module = answer_file(task).rsplit("/", 1)[-1].removesuffix(".py")
    names: list[str] = []
    for text in task.tests.values():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == module:
                names += [a.name for a in node.names if a.name != "*" and a.name not in names]
    return names


def hidden_test_score(task: Task, files: dict[str, str], limits: SandboxLimits, isolation: str = "auto") -> Score:
    """The class of the project ``files`` by the task's hidden tests, decided by the judge
    (``verdict.py``): passed, timeout, wrong_answer (or error when the judge itself failed)."""
    v = judge_hidden_tests(task.tests, files, limits, given=list(task.files), isolation=isolation,
                           hide=[task.source] if task.source else [])
    return Score(v.outcome, v.detail, v.isolation)


def failure_lines(output: str, limit: int = 300) -> str:
    """What pytest said went wrong, in one line: its E lines and FAILED/ERROR summary lines."""
    lines = [ln.strip() for ln in output.splitlines()]
    errors = [ln for ln in lines if ln.startswith("E ")][:2]
    summary = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))][:2]
    picked = errors + summary or [ln for ln in lines if ln and not set(ln) <= set("!=_ ")][-2:]
    return " | ".join(picked)[:limit]


def _score_edit(task: Task, answer: str, limits: SandboxLimits, isolation: str) -> Score:
    changed = extract_files(answer, list(task.files))
    if not changed:
        return Score("no_code", "no code block under a file path of the project in the reply")
    for name, text in changed.items():
        if not name.endswith(".py"):
            continue
        try:
            ast.parse(text)
        except SyntaxError as exc:
            return Score("syntax_error", f"{name} line {exc.lineno}: {exc.msg}")
    return hidden_test_score(task, {**task.files, **changed}, limits, isolation)


def _why_not_green(run: TestRun) -> str:
    if run.exit is None:
        return (run.reason or failure_lines(run.output) or "pytest gave no result (the tests exited early?)").strip()
    if run.collect_errors:
        return "collection failed: " + run.collect_errors[0]
    if not run.collected:
        return "collect no test"
    bad = {n: o for n, o in run.outcomes.items() if o != "passed"}
    missing = [n for n in run.collected if n not in run.outcomes]
    if missing:
        return f"{len(missing)} collected test(s) never ran: {missing[0]}"
    first = next(iter(bad), "")
    return f"{first.rsplit('::', 1)[-1]} {bad.get(first, '')}: {run.messages.get(first, '')}".strip()


def _score_test_writing(task: Task, code: str, limits: SandboxLimits, isolation: str) -> Score:
    """The written tests must all pass on the reference (no skip, xfail or error) and fail on every
    seeded mutant."""
    target = answer_file(task)
    hide = [task.source] if task.source else []
    reference = run_pytest({**task.files, target: code}, "tests", limits, isolation, hide)
    if reference.timed_out:
        return Score("timeout", "the tests did not finish on the reference code: " + reference.reason,
                     reference.isolation)
    if not reference.green:
        return Score("wrong_answer", "the tests do not all pass on the correct code: " + _why_not_green(reference),
                     reference.isolation)
    survived = []
    for name, overlay in task.mutants.items():
        run = run_pytest({**task.files, **overlay, target: code}, "tests", limits, isolation, hide)
        if run.green:
            survived.append(f"{name} ({task.mutant_notes.get(name, 'a seeded bug')})")
    n = len(task.mutants)
    if survived:
        return Score("wrong_answer", f"killed {n - len(survived)}/{n} mutants; survived: " + "; ".join(survived),
                     reference.isolation)
    return Score("passed", f"{reference.passed} test(s) pass on the reference and kill all {n} mutants",
                 reference.isolation)


def _score_json(task: Task, answer: str) -> Score:
    text = answer.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        value = json.loads(text)
    except ValueError:
        start, end = text.find("{"), text.rfind("}")
        try:
            value = json.loads(text[start:end + 1]) if start >= 0 else None
        except ValueError:
            value = None
        if value is None:
            return Score("syntax_error", "the answer is not JSON")
    import jsonschema

    try:
        jsonschema.validate(value, task.schema or {})
    except jsonschema.ValidationError as exc:
        return Score("wrong_answer", f"does not match the schema: {exc.message[:200]}")
    for key, want in (task.expected or {}).items():
        if value.get(key) != want:
            return Score("wrong_answer", f"{key} is {value.get(key)!r}, expected {want!r}")
    return Score("passed", "valid against the schema")

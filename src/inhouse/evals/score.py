"""Scoring one reply to one task, with a failure class for everything that is not a pass.

Classes: passed, wrong_answer, timeout, syntax_error, no_code, malformed_tool_call,
text_instead_of_tool_call, out_of_tokens_thinking, context_overflow (the last is set by the runner,
which sees the engine's error). Reasoning (``<think>`` blocks or ``reasoning_content``) is kept
apart from the answer; only the answer is scored.
"""

from __future__ import annotations

import ast
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..engines.base import ChatResult
from ..errors import EvalError
from ..sandbox import SandboxLimits, run_program
from .extract import extract_code, extract_files
from .tasks import Task
from .toolcheck import check_calls

OUTCOMES = ("passed", "wrong_answer", "timeout", "syntax_error", "no_code", "malformed_tool_call",
            "text_instead_of_tool_call", "out_of_tokens_thinking", "context_overflow", "error", "skipped")

# Runs the hidden tests with pytest inside the sandbox; prints one JSON line with the counts.
_DRIVER = """
import json, sys
try:
    import pytest
except ImportError:
    print("INHOUSE_NO_PYTEST")
    raise SystemExit(3)

class Count:
    def __init__(self):
        self.passed = self.failed = 0
    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome == "failed":
            if report.outcome == "passed":
                self.passed += 1
            elif report.outcome == "failed":
                self.failed += 1

c = Count()
code = pytest.main(["-q", "-p", "no:cacheprovider", "-x", sys.argv[1] if len(sys.argv) > 1 else "tests"], plugins=[c])
print("INHOUSE_RESULT " + json.dumps({"passed": c.passed, "failed": c.failed, "exit": int(code)}))
"""


@dataclass
class Score:
    outcome: str
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# A task's hidden tests go into the project under this folder, apart from the project's own tests/
HIDDEN = "hidden_tests"


def out_of_tokens_thinking(result: ChatResult) -> bool:
    """The reply hit its token limit inside its reasoning: no answer, no call."""
    return (result.finish_reason == "length" and bool(result.reasoning) and not result.text.strip()
            and not result.tool_calls)


def score(task: Task, result: ChatResult, limits: SandboxLimits | None = None) -> Score:
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
        return _score_edit(task, answer, limits)
    code = extract_code(answer)
    if code is None:
        return Score("no_code", "no Python code block or parseable code in the reply")
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return Score("syntax_error", f"line {exc.lineno}: {exc.msg}")
    if task.category == "test_writing":
        return _score_test_writing(task, code, limits)
    return hidden_test_score(task, {**task.files, task.answer_file or "solution.py": code}, limits)


@dataclass
class TestRun:
    """Pytest on a set of files in the sandbox: counts, pytest's output, and how it ended."""

    passed: int
    failed: int
    exit: int | None  # pytest's exit code; None when no result line came back
    output: str
    status: str  # the sandbox's: ok, error, timeout, killed
    reason: str = ""

    @property
    def green(self) -> bool:
        return self.exit == 0 and self.passed > 0

    @property
    def timed_out(self) -> bool:
        return self.status == "timeout" or (self.status == "killed" and self.reason.startswith("CPU limit"))


def run_pytest(files: dict[str, str], test_dir: str = "tests", limits: SandboxLimits | None = None) -> TestRun:
    """Run pytest on ``test_dir`` of a project made of ``files`` (path -> text) in the sandbox."""
    with tempfile.TemporaryDirectory(prefix="inhouse-eval-") as tmp:
        driver = Path(tmp) / "run_hidden_tests.py"
        driver.write_text(_DRIVER)
        res = run_program(driver, limits or SandboxLimits(wall_s=10, cpu_s=10), files=files, args=[test_dir])
    if res.exit_code == 3 and res.stdout.strip() == "INHOUSE_NO_PYTEST":
        raise EvalError(f"pytest is not installed for {sys.executable}, and the hidden tests need it: "
                        "pip install pytest (it is a dependency of inhouse; reinstall inhouse to get it).")
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("INHOUSE_RESULT ")), None)
    output = "\n".join(ln for ln in res.stdout.splitlines() if not ln.startswith("INHOUSE_RESULT "))
    if line is None:
        return TestRun(0, 0, None, (output + "\n" + res.stderr).strip(), res.status, res.reason or "")
    counts = json.loads(line.removeprefix("INHOUSE_RESULT "))
    return TestRun(counts["passed"], counts["failed"], counts["exit"], output, res.status, res.reason or "")


def hidden_test_score(task: Task, files: dict[str, str], limits: SandboxLimits) -> Score:
    """The class of the project ``files`` by the task's hidden tests: passed, timeout, wrong_answer."""
    run = run_pytest(with_hidden_tests(task, files), HIDDEN, limits)
    if run.timed_out:
        return Score("timeout", run.reason)
    if run.exit is None:
        return Score("error" if run.status == "killed" else "wrong_answer", (run.reason or run.output[-300:]).strip())
    if run.green:
        return Score("passed", f"{run.passed} hidden test(s) passed")
    if run.failed == 0:
        return Score("wrong_answer", "the hidden tests could not run: " + failure_lines(run.output))
    return Score("wrong_answer", f"{run.failed} hidden test(s) failed: " + failure_lines(run.output))


def failure_lines(output: str, limit: int = 300) -> str:
    """What pytest said went wrong, in one line: its E lines and FAILED/ERROR summary lines."""
    lines = [ln.strip() for ln in output.splitlines()]
    errors = [ln for ln in lines if ln.startswith("E ")][:2]
    summary = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))][:2]
    picked = errors + summary or [ln for ln in lines if ln and not set(ln) <= set("!=_ ")][-2:]
    return " | ".join(picked)[:limit]


def with_hidden_tests(task: Task, files: dict[str, str]) -> dict[str, str]:
    return {**files, **{f"{HIDDEN}/{name}": text for name, text in task.tests.items()}}


def _score_edit(task: Task, answer: str, limits: SandboxLimits) -> Score:
    changed = extract_files(answer, list(task.files))
    if not changed:
        return Score("no_code", "no code block under a file path of the project in the reply")
    for name, text in changed.items():
        try:
            ast.parse(text)
        except SyntaxError as exc:
            return Score("syntax_error", f"{name} line {exc.lineno}: {exc.msg}")
    return hidden_test_score(task, {**task.files, **changed}, limits)


def _score_test_writing(task: Task, code: str, limits: SandboxLimits) -> Score:
    """The written tests must pass on the reference and fail on every seeded mutant."""
    target = task.answer_file or "tests/test_written.py"
    reference = run_pytest({**task.files, target: code}, "tests", limits)
    if reference.timed_out:
        return Score("timeout", "the tests did not finish on the reference code: " + reference.reason)
    if not reference.green:
        what = "collect no test" if reference.exit == 5 else "fail on the correct code"
        return Score("wrong_answer", f"the tests {what}: {failure_lines(reference.output)}")
    survived = []
    for name, overlay in task.mutants.items():
        run = run_pytest({**task.files, **overlay, target: code}, "tests", limits)
        if run.green:
            survived.append(f"{name} ({task.mutant_notes.get(name, 'a seeded bug')})")
    n = len(task.mutants)
    if survived:
        return Score("wrong_answer", f"killed {n - len(survived)}/{n} mutants; survived: " + "; ".join(survived))
    return Score("passed", f"{reference.passed} test(s) pass on the reference and kill all {n} mutants")


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

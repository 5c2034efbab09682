"""Scoring one reply to one task, with a failure class for everything that is not a pass.

Classes: passed, wrong_answer, timeout, syntax_error, no_code, malformed_tool_call,
text_instead_of_tool_call, out_of_tokens_thinking, context_overflow (the last is set by the runner,
which sees the engine's error). Reasoning (``<think>`` blocks or ``reasoning_content``) is kept
apart from the answer; only the answer is scored.
"""

from __future__ import annotations

import ast
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..engines.base import ChatResult
from ..sandbox import SandboxLimits, run_program
from .extract import extract_code
from .tasks import Task
from .toolcheck import check_calls

OUTCOMES = ("passed", "wrong_answer", "timeout", "syntax_error", "no_code", "malformed_tool_call",
            "text_instead_of_tool_call", "out_of_tokens_thinking", "context_overflow", "error", "skipped")

# Runs the hidden tests with pytest inside the sandbox; prints one JSON line with the counts.
_DRIVER = """
import json, sys
import pytest

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
code = pytest.main(["-q", "-p", "no:cacheprovider", "-x", "tests"], plugins=[c])
print("INHOUSE_RESULT " + json.dumps({"passed": c.passed, "failed": c.failed, "exit": int(code)}))
"""


@dataclass
class Score:
    outcome: str
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def score(task: Task, result: ChatResult, limits: SandboxLimits | None = None) -> Score:
    if task.tools:
        calls = [(c.name, c.arguments) for c in result.tool_calls]
        if not calls and result.finish_reason == "length" and result.reasoning and not result.text.strip():
            return Score("out_of_tokens_thinking", "ran out of tokens inside its reasoning")
        return Score(*check_calls(calls, task.tools, task.expected or []))
    answer = result.text
    if not answer.strip() and result.reasoning and result.finish_reason == "length":
        return Score("out_of_tokens_thinking", "ran out of tokens inside its reasoning")
    if task.category == "structured_output":
        return _score_json(task, answer)
    code = extract_code(answer)
    if code is None:
        return Score("no_code", "no Python code block or parseable code in the reply")
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return Score("syntax_error", f"line {exc.lineno}: {exc.msg}")
    return _run_tests(task, code, limits or SandboxLimits(wall_s=10, cpu_s=10))


def _run_tests(task: Task, code: str, limits: SandboxLimits) -> Score:
    files = {**task.files, "solution.py": code}
    files.update({f"tests/{name}": text for name, text in task.tests.items()})
    with tempfile.TemporaryDirectory(prefix="inhouse-eval-") as tmp:
        driver = Path(tmp) / "run_hidden_tests.py"
        driver.write_text(_DRIVER)
        res = run_program(driver, limits, files=files)
    if res.status == "timeout" or (res.status == "killed" and (res.reason or "").startswith("CPU limit")):
        return Score("timeout", res.reason or "")
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("INHOUSE_RESULT ")), None)
    if line is None:
        return Score("error" if res.status == "killed" else "wrong_answer",
                     (res.reason or res.stderr[-300:] or res.stdout[-300:]).strip())
    counts = json.loads(line.removeprefix("INHOUSE_RESULT "))
    if counts["exit"] == 0 and counts["passed"] > 0:
        return Score("passed", f"{counts['passed']} hidden test(s) passed")
    tail = res.stdout.strip().splitlines()[-4:-1]
    return Score("wrong_answer", f"{counts['failed']} hidden test(s) failed: " + " | ".join(tail)[:300])


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

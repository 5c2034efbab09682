"""Agentic tasks: the model works on a small repository through tools until its tests pass.

The repository lives in memory (path -> text). Each turn the model gets the conversation and the
tools ``list_files``, ``read_file``, ``write_file`` and ``run_tests`` (the repository's own tests,
run in the sandbox); each call is answered with a ``tool`` message. The loop ends when the model
answers without a tool call or after ``max_steps`` turns, and the hidden tests then judge what
it left. Bad calls (unknown tool, arguments that are not JSON, a path outside the repository)
are answered with an error the model can read and are counted, as in a real agent harness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..engines.base import ChatRequest, collect
from ..errors import ContextOverflow
from ..sandbox import SandboxLimits
from .extract import safe_path
from .score import Score, hidden_test_score, out_of_tokens_thinking, run_pytest
from .tasks import Task

DEFAULT_STEPS = 12
MAX_FILE_BYTES = 100_000
MAX_FILES = 50
TOOL_OUTPUT_CHARS = 3000

SYSTEM = ("You are a programmer working in a Python repository through tools: list_files, read_file, "
          "write_file (whole files) and run_tests. Look at the code, make the change, run the tests, and "
          "when they pass answer with a one-line summary and no tool call.")


def _fn(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": required}}}


TOOLS = [
    _fn("list_files", "List every file of the repository", {}, []),
    _fn("read_file", "Read one file of the repository", {"path": {"type": "string"}}, ["path"]),
    _fn("write_file", "Create or replace one file of the repository with the given content",
        {"path": {"type": "string"}, "content": {"type": "string"}}, ["path", "content"]),
    _fn("run_tests", "Run the repository's tests with pytest and show the result", {}, []),
]


@dataclass
class AgentTrace:
    steps: int = 0
    calls: list[dict] = field(default_factory=list)  # {"name", "ok"}
    bad_calls: int = 0
    tokens: int = 0
    reasoning_chars: int = 0
    ended: str = "step_limit"  # done (answered without a call), step_limit, context_overflow, out_of_tokens_thinking
    last_text: str = ""


class Workspace:
    """The repository the model edits, and the tools it edits it with."""

    def __init__(self, files: dict[str, str], limits: SandboxLimits, isolation: str = "auto",
                 hide: list[str] | tuple[str, ...] = ()) -> None:
        self.files = dict(files)
        self.limits = limits
        self.isolation = isolation
        self.hide = list(hide)

    def call(self, name: str, raw_args: str) -> tuple[bool, str]:
        """(whether the call was well formed, what the model is told)."""
        try:
            args = json.loads(raw_args or "{}")
        except ValueError:
            return False, "error: the arguments are not valid JSON"
        if not isinstance(args, dict):
            return False, "error: the arguments must be a JSON object"
        if name == "list_files":
            return True, "\n".join(sorted(self.files))
        if name == "run_tests":
            run = run_pytest(self.files, "tests", self.limits, self.isolation, self.hide)
            if run.timed_out:
                return True, "the tests did not finish in time: " + run.reason
            verdict = "all tests passed" if run.green else f"{run.failed} failed, {run.passed} passed"
            return True, (verdict + "\n" + run.output)[-TOOL_OUTPUT_CHARS:]
        if name not in ("read_file", "write_file"):
            return False, f"error: there is no tool {name!r}; use list_files, read_file, write_file or run_tests"
        path = args.get("path")
        if not isinstance(path, str) or safe_path(path) is None:
            return False, "error: path must be a relative path inside the repository"
        path = safe_path(path)
        if name == "read_file":
            if path not in self.files:
                return True, f"error: no file {path}; list_files shows what there is"
            return True, self.files[path][:TOOL_OUTPUT_CHARS * 4]
        content = args.get("content")
        if not isinstance(content, str):
            return False, "error: write_file needs content, a string with the whole file"
        if len(content.encode()) > MAX_FILE_BYTES or (path not in self.files and len(self.files) >= MAX_FILES):
            return True, "error: file too large or too many files"
        self.files[path] = content
        return True, f"wrote {path} ({len(content.splitlines())} lines)"


def run_agent(engine, task: Task, *, max_tokens: int, temperature: float, seed: int | None,
              thinking: bool | None = None, limits: SandboxLimits | None = None,
              isolation: str = "auto") -> tuple[Score, dict]:
    limits = limits or SandboxLimits(wall_s=10, cpu_s=10)
    ws = Workspace(task.files, limits, isolation, [task.source] if task.source else [])
    trace = AgentTrace()
    messages: list[dict] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": task.prompt}]
    for _ in range(task.max_steps or DEFAULT_STEPS):
        trace.steps += 1
        request = ChatRequest(messages=list(messages), tools=TOOLS, max_tokens=task.max_tokens or max_tokens,
                              temperature=temperature, seed=seed, thinking=thinking)
        try:
            result = collect(engine.generate(request))
        except ContextOverflow:
            trace.ended = "context_overflow"
            break
        trace.tokens += result.usage.completion_tokens if result.usage else 0
        trace.reasoning_chars += len(result.reasoning)
        trace.last_text = result.text[-500:]
        if not result.tool_calls:
            trace.ended = "out_of_tokens_thinking" if out_of_tokens_thinking(result) else "done"
            break
        messages.append({"role": "assistant", "content": result.text, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in result.tool_calls]})
        for c in result.tool_calls:
            ok, output = ws.call(c.name, c.arguments)
            trace.calls.append({"name": c.name, "ok": ok})
            trace.bad_calls += not ok
            messages.append({"role": "tool", "tool_call_id": c.id, "name": c.name, "content": output})
    final = hidden_test_score(task, ws.files, limits, isolation)
    meta = {"steps": trace.steps, "ended": trace.ended, "tool_calls": trace.calls, "bad_calls": trace.bad_calls,
            "completion_tokens": trace.tokens, "reasoning_chars": trace.reasoning_chars,
            "answer": trace.last_text, "changed": sorted(p for p in ws.files if ws.files[p] != task.files.get(p))}
    iso = final.isolation
    if final.outcome == "passed":
        return Score("passed", f"hidden tests pass after {trace.steps} turn(s)", iso), meta
    good_calls = sum(c["ok"] for c in trace.calls)
    if trace.ended == "context_overflow":
        return Score("context_overflow", f"the conversation outgrew the context after {trace.steps} turn(s)",
                     iso), meta
    if trace.ended == "out_of_tokens_thinking":
        return Score("out_of_tokens_thinking", "ran out of tokens inside its reasoning", iso), meta
    if not good_calls:
        if trace.bad_calls:
            return Score("malformed_tool_call", f"{trace.bad_calls} call(s), none well formed", iso), meta
        return Score("text_instead_of_tool_call", "answered in text without using the tools", iso), meta
    why = "stopped at the step limit" if trace.ended == "step_limit" else "declared it done"
    return Score(final.outcome if final.outcome in ("timeout", "error") else "wrong_answer",
                 f"{why} after {trace.steps} turn(s); {final.detail}", iso), meta

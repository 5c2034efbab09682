"""Verdicts the code under test cannot forge.

Hidden tests (synthesis, bug fix, edit, agentic, HumanEval) are decided by a judge process that
never runs the answer's code: it runs the task's tests with pytest, and every import of the
answer's modules gives a proxy whose calls execute in the sandbox (``harness/subject.py``) and come
back as plain values (``remote.py``). The expected values stay in the tests, outside the sandbox.
A sample passes only when every test the judge collected *passed*: a skip, xfail, error or missing
test fails it.

Tests a model wrote (test writing) must run its code, so they run in the sandbox under a pytest
nothing of the answer's can configure (``harness/pytest_run.py``); their verdict needs them to pass
on the reference (every collected test passed) and fail on every seeded mutant, which no forged
report can fake without telling the two apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import EvalError
from ..sandbox import SandboxLimits, Session
from ..sandbox.limits import speed_factor
from .harness import source

HIDDEN = "hidden_tests"
_JUDGE_MAIN = "import sys; del sys.path[0]; from inhouse.evals.judge import main; sys.exit(main(sys.argv[1]))"


@dataclass
class Verdict:
    outcome: str  # passed, wrong_answer, timeout, error
    detail: str
    isolation: str
    tests: dict[str, str] = field(default_factory=dict)  # test id -> outcome

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def to_dict(self) -> dict:
        return asdict(self)


def judge_hidden_tests(tests: dict[str, str], files: dict[str, str], limits: SandboxLimits, *,
                       given: list[str] | tuple[str, ...] = (), isolation: str = "auto",
                       hide: list[str] | tuple[str, ...] = ()) -> Verdict:
    """Run ``tests`` (path -> text, trusted) against the project ``files`` (the answer's)."""
    with tempfile.TemporaryDirectory(prefix="inhouse-verdict-") as tmp:
        root = Path(tmp)
        tests_dir = root / HIDDEN
        for name, text in tests.items():
            dest = tests_dir / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        spec = root / "spec.json"
        result_path = root / "result.json"
        wall = limits.wall_s * (speed_factor() if limits.scale_wall_clock else 1.0)
        scaled = {**limits.to_dict(), "wall_s": wall, "scale_wall_clock": False}
        spec.write_text(json.dumps({"files": files, "tests_dir": str(tests_dir), "result": str(result_path),
                                    "limits": scaled, "isolation": isolation, "hide": list(hide),
                                    "given": sorted({p.split('/')[0].removesuffix('.py') for p in given})}),
                        encoding="utf-8")
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        budget = wall + 60
        # The judge's working directory holds the answer's files as text, for tests that check
        # structure (never imported: the current directory is taken off sys.path).
        answer_dir = root / "answer"
        answer_dir.mkdir()
        for name, text in files.items():
            dest = (answer_dir / name).resolve()
            if answer_dir.resolve() in dest.parents:
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(text, encoding="utf-8")
        try:
            proc = subprocess.run([sys.executable, "-c", _JUDGE_MAIN, str(spec)], cwd=answer_dir, env=env,
                                  capture_output=True, text=True, timeout=budget)
        except subprocess.TimeoutExpired:
            return Verdict("timeout", f"the judge did not finish in {budget:.0f} s", "unknown")
        if not result_path.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return Verdict("error", "the judge failed: " + " | ".join(tail), "unknown")
        result = json.loads(result_path.read_text(encoding="utf-8"))
    if result.get("no_pytest"):
        raise EvalError(f"pytest is not installed for {sys.executable}, and the hidden tests need it: "
                        "pip install pytest (it is a dependency of inhouse; reinstall inhouse to get it).")
    return decide(result)


def decide(result: dict) -> Verdict:
    """Pass only when the judge collected tests and every one of them passed."""
    subject = result.get("subject", {})
    iso = subject.get("isolation", "unknown")
    collected, outcomes = result.get("collected", []), result.get("outcomes", {})
    tests = {nid: outcomes.get(nid, "missing") for nid in collected}
    gone = subject.get("gone") or ""
    timed_out = subject.get("status") == "timeout" or (subject.get("status") == "killed" and
                                                      str(subject.get("reason", "")).startswith("CPU limit"))
    if result.get("collect_errors"):
        detail = "the hidden tests could not run: " + result["collect_errors"][0]
        return Verdict("timeout" if timed_out else "wrong_answer", _with(detail, gone), iso, tests)
    if not collected:
        return Verdict("error", "the task's hidden tests define no test", iso, tests)
    bad = {nid: o for nid, o in tests.items() if o != "passed"}
    if not bad:
        return Verdict("passed", f"{len(tests)} hidden test(s) passed", iso, tests)
    first = next(iter(bad))
    why = result.get("messages", {}).get(first, "")
    kinds = sorted(set(bad.values()))
    detail = f"{len(bad)} of {len(tests)} hidden test(s) did not pass ({', '.join(kinds)})"
    if {"skipped", "xfailed"} & set(kinds):
        detail += "; a skipped or xfailed test counts as a failure"
    detail += f": {first.rsplit('::', 1)[-1]}: {why}" if why else ""
    return Verdict("timeout" if timed_out else "wrong_answer", _with(detail, gone), iso, tests)


def _with(detail: str, gone: str) -> str:
    return f"{detail} ({gone})" if gone and gone not in detail else detail


@dataclass
class TestRun:
    """Pytest on a project in the sandbox: every collected test's outcome and pytest's report."""

    collected: list[str]
    outcomes: dict[str, str]
    collect_errors: list[str]
    exit: int | None  # pytest's exit code; None when no result came back
    output: str
    status: str  # the sandbox's: ok, error, timeout, killed
    reason: str = ""
    isolation: str = "unknown"
    messages: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes.values() if o == "passed")

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes.values() if o in ("failed", "error", "xpassed"))

    @property
    def green(self) -> bool:
        """Tests were collected, and every one passed (no skip, xfail, error or missing test)."""
        return (self.exit == 0 and bool(self.collected) and not self.collect_errors
                and all(self.outcomes.get(n) == "passed" for n in self.collected))

    @property
    def timed_out(self) -> bool:
        return self.status == "timeout" or (self.status == "killed" and self.reason.startswith("CPU limit"))


def run_pytest(files: dict[str, str], test_dir: str = "tests", limits: SandboxLimits | None = None,
               isolation: str = "auto", hide: list[str] | tuple[str, ...] = ()) -> TestRun:
    """Run pytest on ``test_dir`` of a project made of ``files`` (path -> text) in the sandbox,
    configured by inhouse alone (``harness/pytest_run.py``)."""
    from .harness.pytest_run import MARK

    harness = {"pytest_run.py": source("pytest_run.py"), "pytest.ini": "[pytest]\n"}
    with Session("pytest_run.py", limits or SandboxLimits(wall_s=10, cpu_s=10), files=files, harness=harness,
                 args=[test_dir], isolation=isolation, interactive=False, hide=hide) as session:
        res = session.wait()
    if res.exit_code == 3 and res.stdout.strip() == "INHOUSE_NO_PYTEST":
        raise EvalError(f"pytest is not installed for {sys.executable}, and the tests need it: "
                        "pip install pytest (it is a dependency of inhouse; reinstall inhouse to get it).")
    line = next((ln for ln in reversed(res.stdout.splitlines()) if ln.startswith(MARK)), None)
    output = res.stderr
    if line is None:
        return TestRun([], {}, [], None, output.strip(), res.status, res.reason or "", res.isolation)
    try:
        data = json.loads(line.removeprefix(MARK))
        return TestRun(list(data["collected"]), dict(data["outcomes"]), list(data["collect_errors"]),
                       int(data["exit"]), output, res.status, res.reason or "", res.isolation,
                       dict(data.get("messages", {})))
    except (ValueError, KeyError, TypeError):
        return TestRun([], {}, ["a malformed result"], None, output, res.status, res.reason or "", res.isolation)

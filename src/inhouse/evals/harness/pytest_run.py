"""Pytest on a project that nothing in the project can configure or replace.

Used two ways: imported by the judge (``Recorder``, ``pytest_args``) to run a task's hidden tests
outside the sandbox, and run inside the sandbox as ``python -I pytest_run.py TESTDIR`` for the tests
a model wrote (test-writing tasks) and an agent's ``run_tests`` tool. Inside the sandbox:

- this file lives in a read-only folder outside the project, and ``-I`` keeps the project's folder
  off ``sys.path`` until pytest and its plugins are imported, so a ``pytest.py`` or ``json.py`` of
  the answer's cannot stand in for them; after that the standard library still comes first;
- pytest reads an empty ini of ours (``-c``), never the project's ``pytest.ini``,
  ``pyproject.toml``, ``setup.cfg`` or ``tox.ini``; ``--noconftest`` ignores every ``conftest.py``;
  no plugin is auto-loaded;
- each collected test's outcome is recorded: a skip, xfail, error or missing test is not a pass.

The result is one JSON line on a private copy of stdout. Code in the same process could forge it,
so the caller only ever uses it where forging cannot help (see ``evals/verdict.py``).
"""

import json
import os
import sys

MARK = "INHOUSE_PYTEST "


def pytest_args(test_dir, ini, rootdir):
    return [test_dir, "-q", "-p", "no:cacheprovider", "-p", "no:pastebin", "-c", ini, "--rootdir", rootdir,
            "--noconftest", "--import-mode=append", "-o", "python_files=test_*.py *_test.py",
            "-o", "python_classes=Test*", "-o", "python_functions=test*", "--tb=short", "-W", "ignore"]


class Recorder:
    """Every collected test and how it ended: passed, failed, skipped, xfailed, xpassed, error."""

    def __init__(self):
        self.collected = []
        self.outcomes = {}
        self.messages = {}
        self.collect_errors = []

    def pytest_collection_finish(self, session):
        self.collected = [item.nodeid for item in session.items]

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append(f"{report.nodeid or 'collection'}: {_short(report.longreprtext)}")

    def pytest_runtest_logreport(self, report):
        nid, now = report.nodeid, self.outcomes.get(report.nodeid)
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            else:
                outcome = report.outcome
            if now != "error":
                self.outcomes[nid] = outcome
        elif report.failed:
            self.outcomes[nid] = "error"
        elif report.skipped and report.when == "setup":
            self.outcomes[nid] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        if (report.failed or report.skipped) and nid not in self.messages:
            self.messages[nid] = _short(report.longreprtext)

    def result(self, exit_code):
        return {"collected": self.collected, "outcomes": self.outcomes, "messages": self.messages,
                "collect_errors": self.collect_errors, "exit": int(exit_code)}


def _short(text, limit=400):
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("E ")]
    picked = errors[:3] or lines[-2:]
    return " | ".join(picked)[:limit]


def main(test_dir):
    workdir = os.getcwd()
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    result_fd = os.dup(1)
    os.dup2(2, 1)  # pytest's report (and the tests' prints) go to stderr; stdout carries the result only
    sys.stdout = sys.stderr
    try:
        import pytest
        import _pytest.config  # noqa: F401 - everything pytest needs, before the project is on sys.path
    except ImportError:
        os.write(result_fd, b"INHOUSE_NO_PYTEST\n")
        raise SystemExit(3)
    stdlib = [p for p in sys.path if "site-packages" not in p and "dist-packages" not in p]
    sys.path[:] = stdlib + [workdir] + [p for p in sys.path if p not in stdlib]
    ini = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytest.ini")
    recorder = Recorder()
    try:
        code = pytest.main(pytest_args(test_dir, ini, workdir), plugins=[recorder])
    except BaseException as exc:  # noqa: BLE001 - the tests ended pytest itself
        recorder.collect_errors.append(f"pytest did not finish: {type(exc).__name__}")
        code = -1
    os.write(result_fd, (MARK + json.dumps(recorder.result(code)) + "\n").encode())
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests")

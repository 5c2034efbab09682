"""The judge process: runs a task's hidden tests against an answer it never executes.

``python -m inhouse.evals.judge SPEC.json`` (started by ``verdict.judge_hidden_tests``). It starts
the answer's side in the sandbox (``harness/subject.py`` with the project's files), serves imports
of the answer's modules from there (``remote.AnswerFinder``), runs pytest on the hidden tests here,
with pytest's own configuration and nothing of the answer's, and writes each collected test's
outcome to the result file. The answer can influence only the values its code returns.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        import pytest
    except ImportError:
        Path(spec["result"]).write_text(json.dumps({"no_pytest": True}), encoding="utf-8")
        return 3

    from ..sandbox import SandboxLimits, Session
    from .harness import source
    from .harness.pytest_run import Recorder, pytest_args
    from .remote import AnswerFinder, Channel, Remote, claimed_modules

    files: dict[str, str] = spec["files"]
    session = Session("subject.py", SandboxLimits(**spec["limits"]), files=files,
                      harness={"subject.py": source("subject.py")}, isolation=spec["isolation"],
                      hide=spec.get("hide", []))
    channel = Channel(session)
    remote = Remote(channel)
    finder = AnswerFinder(remote, claimed_modules(files, set(spec.get("given", []))))
    sys.meta_path.insert(0, finder)
    recorder = Recorder()
    tests_dir = spec["tests_dir"]
    with tempfile.TemporaryDirectory(prefix="inhouse-judge-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        try:
            code = pytest.main(pytest_args(tests_dir, str(ini), tests_dir), plugins=[recorder])
        except BaseException as exc:  # noqa: BLE001
            recorder.collect_errors.append(f"pytest did not finish: {type(exc).__name__}: {exc}")
            code = -1
    sys.meta_path.remove(finder)
    status = getattr(channel, "status", None) or session.close()
    result = recorder.result(code)
    result["subject"] = {"status": status.status, "exit_code": status.exit_code, "reason": status.reason,
                         "stderr": status.stderr[-2000:], "isolation": status.isolation,
                         "warnings": status.warnings, "gone": channel.gone, "calls": channel.calls}
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

"""Programs that run inside the sandbox, beside the model's code but never inside its folder.

They are plain scripts (no inhouse import: the package may not be importable in the sandbox) and are
laid into a read-only folder outside the answer's working directory, so no answer file can replace
them. ``subject.py`` serves the answer's modules to the trusted judge as values; ``pytest_run.py``
runs pytest on a project without letting the project configure it.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def source(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")

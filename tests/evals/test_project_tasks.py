"""The project-shaped categories of the core suite: edit, test writing and agentic.

Each task can be passed (a reference answer passes), and fails what it should: an unchanged
project fails the hidden tests, the reference tests kill every seeded mutant, an agent that does
nothing or calls tools badly gets the failure class that says so.
"""

from __future__ import annotations

import json

import pytest

from inhouse.engines.base import ChatResult
from inhouse.engines.fake import FakeEngine, FakeReply
from inhouse.evals.agent import Workspace, run_agent
from inhouse.evals.extract import extract_files
from inhouse.evals.run import request_for
from inhouse.evals.score import run_pytest, score
from inhouse.evals.tasks import load_suite
from inhouse.sandbox import SandboxLimits

TASKS = {t.id: t for t in load_suite("core")}
LIMITS = SandboxLimits(wall_s=10, cpu_s=10)

EDIT_REFERENCE = {
    "edit_add_parameter": {
        "pricing.py": "def price_with_tax(amount, rate=0.2):\n    return round(amount * (1 + rate), 2)\n",
        "cart.py": "from pricing import price_with_tax\n\n\nclass Cart:\n    def __init__(self):\n        self.items = []\n\n"
                   "    def add(self, name, amount):\n        self.items.append((name, amount))\n\n"
                   "    def total(self, rate=0.2):\n        return round(sum(price_with_tax(a, rate) for _, a in self.items), 2)\n"},
    "edit_rename_function": {
        "textutils.py": "import string\n\n\ndef strip_punctuation(text):\n    return ''.join(c for c in text if c not in string.punctuation)\n",
        "report.py": "from textutils import strip_punctuation\n\n\ndef headline(title):\n    return strip_punctuation(title).upper()\n",
        "words.py": "import textutils\n\n\ndef words(text):\n    return textutils.strip_punctuation(text).split()\n"},
    "edit_extract_function": {
        "orders.py": "def discount(total):\n    if total >= 100:\n        return total * 0.1\n    if total >= 50:\n        return 5\n    return 0\n\n\n"
                     "def invoice_total(lines):\n    total = sum(q * p for q, p in lines)\n    return round(total - discount(total), 2)\n\n\n"
                     "def quote_total(lines, shipping):\n    total = sum(q * p for q, p in lines)\n    return round(total - discount(total) + shipping, 2)\n"},
    "edit_add_field": {
        "models.py": "from dataclasses import dataclass\n\n\n@dataclass\nclass User:\n    name: str\n    email: str\n    age: int = 0\n",
        "serialize.py": "from models import User\n\n\ndef to_dict(user):\n    return {'name': user.name, 'email': user.email, 'age': user.age}\n\n\n"
                        "def from_dict(data):\n    return User(name=data['name'], email=data['email'], age=data.get('age', 0))\n"},
    "edit_move_function": {
        "text.py": "import re\n\n\ndef slugify(title):\n    return re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')\n",
        "app.py": "from text import slugify\n\n\ndef post_url(title):\n    return '/posts/' + slugify(title)\n"},
    "edit_add_status": {
        "status.py": "OPEN = 'open'\nSHIPPED = 'shipped'\nARCHIVED = 'archived'\nALL = (OPEN, SHIPPED, ARCHIVED)\n",
        "render.py": "import status\n\nLABELS = {status.OPEN: 'Open', status.SHIPPED: 'Shipped', status.ARCHIVED: 'Archived'}\n\n\n"
                     "def label(value):\n    if value not in status.ALL:\n        raise ValueError(value)\n    return LABELS[value]\n"},
    "edit_return_dict": {
        "stats.py": "def summary(nums):\n    return {'min': min(nums), 'max': max(nums), 'mean': sum(nums) / len(nums)}\n",
        "report.py": "from stats import summary\n\n\ndef describe(nums):\n    s = summary(nums)\n    return f\"from {s['min']} to {s['max']}, mean {s['mean']:.1f}\"\n"},
    "edit_rename_class": {
        "storage.py": "class MemoryStore:\n    def __init__(self):\n        self.data = {}\n\n    def put(self, key, value):\n        self.data[key] = value\n\n"
                      "    def get(self, key, default=None):\n        return self.data.get(key, default)\n",
        "factory.py": "from storage import MemoryStore\n\n\ndef make_store():\n    return MemoryStore()\n"},
}

TEST_REFERENCE = {
    "tw_clamp": "import pytest\nfrom mathx import clamp\n\ndef test_clamp():\n    assert clamp(5, 0, 3) == 3\n    assert clamp(-1, 0, 3) == 0\n"
                "    assert clamp(2, 0, 3) == 2\n    with pytest.raises(ValueError):\n        clamp(1, 3, 0)\n",
    "tw_leap_year": "from calendarx import is_leap\n\ndef test_leap():\n    assert is_leap(2024) and not is_leap(2023)\n"
                    "    assert not is_leap(1900) and is_leap(2000)\n",
    "tw_chunk": "import pytest\nfrom listx import chunk\n\ndef test_chunk():\n    assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]\n"
                "    assert chunk([], 3) == []\n    with pytest.raises(ValueError):\n        chunk([1], 0)\n",
    "tw_parse_duration": "import pytest\nfrom durations import parse_duration\n\ndef test_parse():\n    assert parse_duration('1h30m') == 5400\n"
                         "    assert parse_duration('2h5m10s') == 7510\n    for bad in ('', 'abc', '5x'):\n"
                         "        with pytest.raises(ValueError):\n            parse_duration(bad)\n",
    "tw_stack": "import pytest\nfrom stack import Stack\n\ndef test_stack():\n    s = Stack()\n    s.push(1)\n    s.push(2)\n"
                "    assert s.peek() == 2 and len(s) == 2\n    assert s.pop() == 2 and s.pop() == 1\n"
                "    with pytest.raises(IndexError):\n        s.pop()\n",
    "tw_dedupe": "from seqs import dedupe\n\ndef test_dedupe():\n    assert dedupe([3, 1, 3, 2, 1]) == [3, 1, 2]\n    assert dedupe([]) == []\n",
    "tw_median": "import pytest\nfrom statsx import median\n\ndef test_median():\n    assert median([3, 1, 2]) == 2\n    assert median([4, 1, 3, 2]) == 2.5\n"
                 "    with pytest.raises(ValueError):\n        median([])\n",
    "tw_run_length": "from rle import encode\n\ndef test_encode():\n    assert encode('aaabcc') == [('a', 3), ('b', 1), ('c', 2)]\n"
                     "    assert encode('aAa') == [('a', 1), ('A', 1), ('a', 1)]\n    assert encode('abab') == [('a', 1), ('b', 1), ('a', 1), ('b', 1)]\n",
}

AGENT_REFERENCE = {
    "ag_fix_divide": {"calc.py": "def divide(a, b):\n    return a / b\n"},
    "ag_implement_todo": {"todo.py": "def add(items, title):\n    return items + [{'title': title, 'done': False}]\n\n\n"
                                     "def done_count(items):\n    return sum(i['done'] for i in items)\n\n\n"
                                     "def complete(items, title):\n    if not any(i['title'] == title for i in items):\n        raise KeyError(title)\n"
                                     "    return [dict(i, done=True) if i['title'] == title else i for i in items]\n"},
    "ag_add_flag": {"greet.py": "def greet(name, excited=False):\n    return f\"Hello, {name}{'!' if excited else '.'}\"\n",
                    "tests/test_greet.py": "from greet import greet\n\ndef test_greet():\n    assert greet('Ada') == 'Hello, Ada.'\n\n"
                                           "def test_excited():\n    assert greet('Ada', excited=True) == 'Hello, Ada!'\n"},
    "ag_config_comments": {"config.py": "def parse_config(text):\n    out = {}\n    for line in text.splitlines():\n"
                                        "        if not line.strip() or line.strip().startswith('#'):\n            continue\n"
                                        "        key, value = line.split('=', 1)\n        out[key.strip()] = value.strip()\n    return out\n"},
    "ag_two_modules": {"inventory/store.py": "class Store:\n    def __init__(self):\n        self.counts = {}\n\n"
                                             "    def add(self, item, n=1):\n        self.counts[item] = self.counts.get(item, 0) + n\n\n"
                                             "    def remove(self, item, n=1):\n        have = self.counts.get(item, 0)\n        if have < n:\n"
                                             "            raise ValueError(item)\n        self.counts[item] = have - n\n"},
    "ag_missing_function": {"textkit.py": "def title_case(text):\n    return ' '.join(w.capitalize() for w in text.split())\n\n\n"
                                          "def truncate(text, width):\n    return text if len(text) <= width else text[:width - 3] + '...'\n"},
    "ag_type_error": {"invoice.py": "def format_total(lines):\n    total = sum(q * p for q, p in lines)\n    return f'Total: {total:.2f} EUR'\n"},
    "ag_pagination": {"pages.py": "def page(items, number, per_page=10):\n    start = (number - 1) * per_page\n    return items[start:start + per_page]\n"},
}


def by_category(category):
    return sorted(t.id for t in TASKS.values() if t.category == category)


def reply(text):
    return ChatResult(text=text, finish_reason="stop")


def files_answer(files):
    return "\n\n".join(f"{path}\n```python\n{text}```" for path, text in files.items())


def test_the_suite_has_60_original_tasks_in_every_category():
    cats = {t.category for t in TASKS.values()}
    assert cats == {"synthesis", "bugfix", "edit", "test_writing", "agentic", "tool_calling", "structured_output"}
    assert len(TASKS) >= 60
    assert set(by_category("edit")) == set(EDIT_REFERENCE)
    assert set(by_category("test_writing")) == set(TEST_REFERENCE)
    assert set(by_category("agentic")) == set(AGENT_REFERENCE)


@pytest.mark.parametrize("task_id", sorted(EDIT_REFERENCE))
def test_edit_reference_passes_and_the_unchanged_project_fails(task_id):
    task = TASKS[task_id]
    result = score(task, reply("Here are the changed files.\n\n" + files_answer(EDIT_REFERENCE[task_id])))
    assert result.outcome == "passed", result.detail
    unchanged = score(task, reply(files_answer(dict(list(task.files.items())[:1]))))
    assert unchanged.outcome == "wrong_answer", unchanged.detail


def test_edit_failure_classes():
    task = TASKS["edit_add_parameter"]
    assert score(task, reply("I would add a parameter.")).outcome == "no_code"
    assert score(task, reply("pricing.py\n```python\ndef price_with_tax(amount, rate=0.2)\n```")).outcome == "syntax_error"
    # a path outside the project is not written anywhere
    assert score(task, reply("../../etc/evil.py\n```python\nx = 1\n```")).outcome == "no_code"


def test_extract_files_reads_the_usual_ways_of_naming_a_file():
    text = ("### src/a.py\n```python\nA = 1\n```\nFile: b.py\n```python\nB = 2\n```\n"
            "```python c.py\nC = 3\n```\n```python\n# d.py\nD = 4\n```\n/etc/passwd\n```python\nE = 5\n```")
    assert extract_files(text, ["x.py"]) == {"src/a.py": "A = 1\n", "b.py": "B = 2\n", "c.py": "C = 3\n",
                                              "d.py": "# d.py\nD = 4\n"}
    assert extract_files("```python\nonly = 1\n```", ["solo.py"]) == {"solo.py": "only = 1\n"}


@pytest.mark.parametrize("task_id", sorted(TEST_REFERENCE))
def test_reference_tests_pass_and_kill_every_mutant(task_id):
    task = TASKS[task_id]
    assert len(task.mutants) >= 3 and set(task.mutant_notes) == set(task.mutants)
    result = score(task, reply(f"```python\n{TEST_REFERENCE[task_id]}```"))
    assert result.outcome == "passed", result.detail


def test_weak_or_wrong_tests_fail():
    task = TASKS["tw_clamp"]
    weak = "from mathx import clamp\n\ndef test_inside():\n    assert clamp(2, 0, 3) == 2\n"
    result = score(task, reply(f"```python\n{weak}```"))
    assert result.outcome == "wrong_answer" and result.detail.startswith("killed 0/3 mutants")
    wrong = "from mathx import clamp\n\ndef test_wrong():\n    assert clamp(5, 0, 3) == 5\n"
    result = score(task, reply(f"```python\n{wrong}```"))
    assert result.outcome == "wrong_answer" and "fail on the correct code" in result.detail
    empty = "from mathx import clamp\n"
    assert "collect no test" in score(task, reply(f"```python\n{empty}```")).detail


def call(name, **args):
    return (name, json.dumps(args))


@pytest.mark.parametrize("task_id", sorted(AGENT_REFERENCE))
def test_agentic_tasks_fail_as_given_and_a_reference_agent_passes(task_id):
    task = TASKS[task_id]
    hidden = {f"hidden_tests/{n}": t for n, t in task.tests.items()}
    assert not run_pytest({**task.files, **hidden}, "hidden_tests", LIMITS).green  # nothing to gain by doing nothing
    if task_id != "ag_add_flag":  # a feature to add; the others start with failing tests
        assert not run_pytest(task.files, "tests", LIMITS).green
    writes = [call("write_file", path=p, content=t) for p, t in AGENT_REFERENCE[task_id].items()]
    engine = FakeEngine([FakeReply(tool_calls=[call("list_files")]),
                         FakeReply(tool_calls=[call("read_file", path=next(iter(AGENT_REFERENCE[task_id])))]),
                         FakeReply(tool_calls=writes), FakeReply(tool_calls=[call("run_tests")]),
                         FakeReply(text="Fixed: the tests pass.")])
    result, meta = run_agent(engine, task, max_tokens=256, temperature=0.0, seed=0)
    assert result.outcome == "passed", result.detail
    assert meta["steps"] == 5 and meta["ended"] == "done" and meta["bad_calls"] == 0
    # the tools answered: the run_tests result the model saw says the tests pass
    tool_messages = [m for m in engine.history[-1].messages if m["role"] == "tool"]
    assert tool_messages[-1]["content"].startswith("all tests passed")
    assert "tests/" in tool_messages[0]["content"]  # list_files showed the repository


def test_agent_failure_classes():
    task = TASKS["ag_fix_divide"]
    lazy = FakeEngine([FakeReply(text="Change // to / in calc.py.")])
    assert run_agent(lazy, task, max_tokens=64, temperature=0.0, seed=0)[0].outcome == "text_instead_of_tool_call"
    bad = FakeEngine([FakeReply(tool_calls=[("open_file", "{}")]), FakeReply(tool_calls=[("read_file", "{path:")]),
                      FakeReply(text="done")])
    result, meta = run_agent(bad, task, max_tokens=64, temperature=0.0, seed=0)
    assert result.outcome == "malformed_tool_call" and meta["bad_calls"] == 2
    looping = FakeEngine([FakeReply(tool_calls=[call("run_tests")])] * 5)
    result, meta = run_agent(looping, task.__class__(**{**task.__dict__, "max_steps": 3}), max_tokens=64,
                             temperature=0.0, seed=0)
    assert result.outcome == "wrong_answer" and "step limit after 3" in result.detail and meta["ended"] == "step_limit"


def test_workspace_tools_stay_inside_the_repository():
    ws = Workspace({"a.py": "x = 1\n"}, LIMITS)
    assert ws.call("read_file", '{"path": "../etc/passwd"}')[0] is False
    assert ws.call("write_file", '{"path": "/tmp/x.py", "content": "x"}')[0] is False
    assert ws.call("read_file", '{"path": "./a.py"}') == (True, "x = 1\n")
    assert ws.call("write_file", '{"path": "b.py", "content": 3}')[0] is False
    assert ws.call("write_file", '{"path": "pkg/b.py", "content": "y = 2\\n"}') == (True, "wrote pkg/b.py (1 lines)")
    assert ws.call("list_files", "{}") == (True, "a.py\npkg/b.py")


def test_prompts_show_the_project_and_ask_for_paths():
    req = request_for(TASKS["edit_rename_class"], 256, 0.0, 0)
    assert "path on a line of its own" in req.messages[0]["content"]
    assert "factory.py\n```python\nfrom storage import MemStore" in req.messages[1]["content"]
    req = request_for(TASKS["tw_clamp"], 256, 0.0, 0)
    assert "pytest" in req.messages[0]["content"] and "mathx.py\n```python" in req.messages[1]["content"]

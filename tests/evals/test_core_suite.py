"""Every task of the core suite can be passed (a reference answer passes) and fails what it
should (bug-fix tasks fail on the buggy file; wrong tool calls are classified)."""

from __future__ import annotations

import json

import pytest

from inhouse.engines.base import ChatResult, ToolCall
from inhouse.evals.score import score
from inhouse.evals.tasks import load_suite

TASKS = {t.id: t for t in load_suite("core")}

REFERENCE = {
    "syn_reverse_words": "def reverse_words(s):\n    return ' '.join(reversed(s.split()))\n",
    "syn_is_palindrome": "def is_palindrome(s):\n    t = [c.lower() for c in s if c.isalnum()]\n    return t == t[::-1]\n",
    "syn_fizzbuzz": "def fizzbuzz(n):\n    return ['FizzBuzz' if i % 15 == 0 else 'Fizz' if i % 3 == 0 else 'Buzz' if i % 5 == 0 else str(i) for i in range(1, n + 1)]\n",
    "syn_count_vowels": "def count_vowels(s):\n    return sum(c in 'aeiouAEIOU' for c in s)\n",
    "syn_flatten": "def flatten(items):\n    out = []\n    for x in items:\n        out.extend(flatten(x) if isinstance(x, list) else [x])\n    return out\n",
    "syn_chunk": "def chunk(items, size):\n    if size < 1:\n        raise ValueError(size)\n    return [items[i:i + size] for i in range(0, len(items), size)]\n",
    "syn_word_frequencies": "import re\nfrom collections import Counter\ndef word_frequencies(text):\n    return dict(Counter(re.findall('[a-z]+', text.lower())))\n",
    "syn_fibonacci": "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "syn_is_prime": "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True\n",
    "syn_merge_intervals": "def merge_intervals(iv):\n    out = []\n    for s, e in sorted(iv):\n        if out and s <= out[-1][1]:\n            out[-1] = (out[-1][0], max(out[-1][1], e))\n        else:\n            out.append((s, e))\n    return out\n",
    "syn_roman_to_int": "def roman_to_int(s):\n    v = dict(I=1, V=5, X=10, L=50, C=100, D=500, M=1000)\n    return sum(-v[a] if v[a] < v[b] else v[a] for a, b in zip(s, s[1:] + 'I')) if s else 0\n",
    "syn_balanced_brackets": "def balanced(s):\n    st = []\n    for c in s:\n        if c in '([{':\n            st.append(c)\n        elif c in ')]}':\n            if not st or '([{'[')]}'.index(c)] != st.pop():\n                return False\n    return not st\n",
    "syn_slugify": "import re\ndef slugify(t):\n    return re.sub('[^a-z0-9]+', '-', t.lower()).strip('-')\n",
    "syn_second_largest": "def second_largest(nums):\n    u = sorted(set(nums))\n    return u[-2] if len(u) > 1 else None\n",
    "syn_parse_kv": "def parse_kv(line):\n    out = {}\n    for part in line.split(';'):\n        if '=' in part:\n            k, v = part.split('=', 1)\n            out[k.strip()] = v.strip()\n    return out\n",
    "syn_lru_cache_class": "from collections import OrderedDict\nclass LRUCache:\n    def __init__(self, capacity):\n        self.c, self.d = capacity, OrderedDict()\n    def get(self, k):\n        if k not in self.d:\n            return None\n        self.d.move_to_end(k)\n        return self.d[k]\n    def put(self, k, v):\n        self.d[k] = v\n        self.d.move_to_end(k)\n        if len(self.d) > self.c:\n            self.d.popitem(last=False)\n",
    "bug_off_by_one_sum": "def sum_to(n):\n    return n * (n + 1) // 2\n",
    "bug_wrong_average": "def average(nums):\n    return sum(nums) / len(nums) if nums else 0.0\n",
    "bug_mutable_default": "def add_item(item, items=None):\n    return list(items or []) + [item]\n",
    "bug_max_of_empty": "def maximum(nums):\n    return max(nums) if nums else None\n",
    "bug_string_compare": "def is_admin(role):\n    return role.strip().lower() == 'admin'\n",
    "bug_dict_iteration": "def drop_negatives(d):\n    return {k: v for k, v in d.items() if v >= 0}\n",
    "bug_binary_search": "def binary_search(items, target):\n    lo, hi = 0, len(items)\n    while lo < hi:\n        mid = (lo + hi) // 2\n        if items[mid] < target:\n            lo = mid + 1\n        elif items[mid] > target:\n            hi = mid\n        else:\n            return mid\n    return -1\n",
    "bug_celsius": "def to_fahrenheit(c):\n    return c * 9 / 5 + 32\n",
}
JSON_REFERENCE = {
    "json_person": {"name": "Ada", "age": 36, "languages": ["Python", "C"]},
    "json_http_status": {"code": 404, "meaning": "Not Found"},
    "json_version_bump": {"major": 1, "minor": 5, "patch": 0},
    "json_list_files": {"files": ["app.py", "models.py", "views.py"]},
}


def reply(text="", calls=(), finish="stop"):
    return ChatResult(text=text, tool_calls=[ToolCall(id=str(i), name=n, arguments=a, t=0.0)
                                             for i, (n, a) in enumerate(calls)], finish_reason=finish)


def test_the_core_suite_has_every_category():
    cats = {t.category for t in TASKS.values()}
    assert {"synthesis", "bugfix", "tool_calling", "structured_output"} <= cats
    assert len(TASKS) >= 35


@pytest.mark.parametrize("task_id", sorted(REFERENCE))
def test_reference_answers_pass(task_id):
    result = score(TASKS[task_id], reply(f"Here it is:\n```python\n{REFERENCE[task_id]}```"))
    assert result.outcome == "passed", result.detail


@pytest.mark.parametrize("task_id", sorted(t for t in TASKS if t.startswith("bug_")))
def test_the_buggy_file_fails(task_id):
    buggy = TASKS[task_id].files["solution.py"]
    assert score(TASKS[task_id], reply(f"```python\n{buggy}```")).outcome in ("wrong_answer", "timeout")


@pytest.mark.parametrize("task_id", sorted(JSON_REFERENCE))
def test_structured_reference_passes(task_id):
    assert score(TASKS[task_id], reply(json.dumps(JSON_REFERENCE[task_id]))).outcome == "passed"


@pytest.mark.parametrize("task_id", sorted(t for t in TASKS if t.startswith("tool_")))
def test_expected_tool_calls_pass(task_id):
    task = TASKS[task_id]
    calls = []
    for e in task.expected:
        args = {k: (v["any_of"][0] if isinstance(v, dict) else v) for k, v in e.get("arguments", {}).items()}
        calls.append((e["name"], json.dumps(args)))
    assert score(task, reply("" if calls else "You're welcome!", calls)).outcome == "passed"


def test_failure_classes():
    syn = TASKS["syn_reverse_words"]
    assert score(syn, reply("I cannot help with that.")).outcome == "no_code"
    assert score(syn, reply("```python\ndef reverse_words(s)\n    return s\n```")).outcome == "syntax_error"
    assert score(syn, reply("```python\ndef reverse_words(s):\n    while True: pass\n```")).outcome in ("timeout", "wrong_answer")
    assert score(syn, ChatResult(text="", reasoning="let me think" * 50, finish_reason="length")).outcome == \
        "out_of_tokens_thinking"
    tool = TASKS["tool_one_tool"]
    assert score(tool, reply("It is sunny.")).outcome == "text_instead_of_tool_call"
    assert score(tool, reply(calls=[("get_weather", "{city: Paris}")])).outcome == "malformed_tool_call"
    assert score(tool, reply(calls=[("get_forecast", "{}")])).outcome == "malformed_tool_call"
    assert score(tool, reply(calls=[("get_weather", "{}")])).outcome == "malformed_tool_call"
    assert score(tool, reply(calls=[("get_weather", '{"city": 3}')])).outcome == "malformed_tool_call"
    assert score(tool, reply(calls=[("get_weather", '{"city": "Rome"}')])).outcome == "wrong_answer"
    assert score(TASKS["tool_restraint_chitchat"], reply(calls=[("get_weather", '{"city": "Rome"}')])).outcome \
        == "wrong_answer"
    assert score(TASKS["json_http_status"], reply("not json")).outcome == "syntax_error"
    assert score(TASKS["json_http_status"], reply('{"code": "404"}')).outcome == "wrong_answer"


def test_byte_compiled_files_are_not_task_files(tmp_path):
    """pip byte-compiles the installed suite; __pycache__ must not become part of a task."""
    import shutil

    from inhouse.evals.tasks import load_task, suite_path

    src = suite_path("core") / "syn_reverse_words"
    task_dir = tmp_path / "syn_reverse_words"
    shutil.copytree(src, task_dir)
    (task_dir / "tests" / "__pycache__").mkdir(exist_ok=True)  # the installed suite may have one already
    (task_dir / "tests" / "__pycache__" / "test_hidden.cpython-311.pyc").write_bytes(b"\xa7\r\r\n\0\0")
    assert list(load_task(task_dir).tests) == ["test_hidden.py"]

"""Reply extraction: the fence tokenizer, and the answer chosen by role out of the reply shapes
real models produce (drafts, examples, shell blocks, cut-off replies, paths, diffs)."""

from __future__ import annotations

import difflib
import re

import pytest
from markdown_it import MarkdownIt

from inhouse.evals.extract import extract_code, extract_files, extract_tests, safe_path
from inhouse.evals.fences import fences
from inhouse.evals.patch import apply_diff
from inhouse.evals.tasks import load_suite

SOLUTION = "def add(a, b):\n    return a + b"
EP = {"entry_points": ["add"]}


def code(text, **kw):
    return extract_code(text, **{**EP, **kw})


# ---- the tokenizer -------------------------------------------------------------------------------

def test_a_bash_block_before_python_closes_where_it_should():
    text = f"Install:\n```bash\npip install x\n```\nThen:\n```python\n{SOLUTION}\n```\nDone."
    bash, py = fences(text)
    assert (bash.lang, bash.body, bash.closed, bash.before) == ("bash", "pip install x\n", True, "Install:\n")
    assert (py.lang, py.body, py.closed, py.before) == ("python", SOLUTION + "\n", True, "Then:\n")
    assert text[py.start:py.end] == f"```python\n{SOLUTION}\n```\n"
    assert code(text) == SOLUTION


def test_tilde_fences_and_longer_fences_keep_shorter_ones_as_content():
    text = "~~~python\nx = '```'\n~~~\n````markdown\n```python\ny = 1\n```\n````\n"
    tilde, md = fences(text)
    assert (tilde.lang, tilde.body) == ("python", "x = '```'\n")
    assert (md.lang, md.body, md.closed) == ("markdown", "```python\ny = 1\n```\n", True)


def test_an_unclosed_final_fence_runs_to_the_end():
    text = "Sure:\n```python\ndef add(a, b):\n    return a +"
    (block,) = fences(text)
    assert (block.body, block.closed) == ("def add(a, b):\n    return a +\n", False)
    assert (block.start, block.end) == (6, len(text))


def test_fences_indented_up_to_three_spaces_and_info_strings():
    text = "   ```Python utils.py\n   x = 1\n    y = 2\n   ```\n    ```python\n    not a fence\n    ```\n"
    (block,) = fences(text)
    assert (block.lang, block.info, block.body) == ("python", "Python utils.py", "x = 1\n y = 2\n")
    assert [b.lang for b in fences('```py title="a.py"\n1\n```\n```{.python}\n2\n```')] == ["py", "python"]


def test_windows_line_endings():
    text = f"Here:\r\n```python\r\n{SOLUTION.replace(chr(10), chr(13) + chr(10))}\r\n```\r\n"
    assert fences(text)[0].body == SOLUTION + "\n"
    assert code(text) == SOLUTION
    assert extract_files("utils.py\r\n```python\r\nA = 1\r\n```", ["utils.py"]) == {"utils.py": "A = 1\n"}


REPLIES = [
    "prose\n```python\nx = 1\n```\nmore prose\n~~~\ny\n~~~~\n",
    "````\n```python\nnested\n```\n````\n```\n",
    "   ```python\n   indented\n  two\n   ```\n- item\n\n```bash\n$ ls\n```\n```python\ncut off",
    "text ```python inline``` text\n```\n``` python\nz\n```",
    "```python a.py\nA\n```\n```diff\n@@ -1 +1 @@\n-a\n+b\n```",
]


@pytest.mark.parametrize("text", REPLIES)
def test_the_tokenizer_agrees_with_commonmark(text):
    """markdown-it-py's fence rule, an independent CommonMark implementation, finds the same blocks."""
    md = MarkdownIt("zero").enable("fence")
    truth = [(t.info.strip(), t.content) for t in md.parse(text) if t.type == "fence"]
    # markdown-it leaves the last line of a block cut off without a final newline as it is
    assert [(b.info, b.body if b.closed or text.endswith("\n") else b.body[:-1]) for b in fences(text)] == truth


# ---- extract_code: the solution by role ----------------------------------------------------------

def test_a_longer_quick_check_that_imports_the_solution_is_not_the_solution():
    check = "from solution import add\n\n" + "\n".join(f"assert add({i}, 1) == {i + 1}" for i in range(20))
    text = f"```python\n{SOLUTION}\n```\nQuick check:\n```python\n{check}\n```"
    assert code(text) == SOLUTION
    assert extract_code(text) == SOLUTION  # the old call, without keywords


def test_prose_before_and_after_the_code():
    assert code(f"Here is the function.\n\n```python\n{SOLUTION}\n```\n\nIt adds two numbers.") == SOLUTION


def test_several_drafts_the_last_one_wins():
    first = "def add(a, b):\n    return a - b"
    text = f"First try:\n```python\n{first}\n```\nOops, fixed:\n```python\n{SOLUTION}\n```"
    assert code(text) == SOLUTION


def test_reasoning_with_a_draft_in_plain_text():
    text = ("Let me think... maybe\n```python\ndef add(a, b):\n    pass\n```\nNo, that returns None. "
            f"Final answer:\n```python\n{SOLUTION}\n```")
    assert code(text) == SOLUTION


def test_a_usage_example_after_the_solution():
    text = f"```python\n{SOLUTION}\n```\nUsage:\n```python\nresult = add(2, 3)\nprint(result)  # 5\n```"
    assert code(text) == SOLUTION
    assert extract_code(text) == SOLUTION


def test_an_example_block_before_the_solution():
    text = f"You would call it like:\n```python\nprint(add(1, 2))\n```\nImplementation:\n```python\n{SOLUTION}\n```"
    assert code(text) == SOLUTION


def test_shell_blocks_are_never_python():
    text = (f"```bash\npip install pytest\n```\n```python\n{SOLUTION}\n```\nRun it:\n```sh\npython main.py\n```\n"
            "```console\n$ python -c 'def add(a, b): return 0'\n```")
    assert code(text) == SOLUTION


def test_a_four_backtick_fence_holding_three_backticks():
    sol = 'def add(a, b):\n    """Add.\n\n    ```\n    add(1, 2)\n    ```\n    """\n    return a + b'
    assert code(f"````python\n{sol}\n````") == sol


def test_a_reply_cut_at_max_tokens():
    assert code(f"```python\n{SOLUTION}\n") == SOLUTION
    # an earlier complete version beats a cut-off revision that no longer parses
    text = f"```python\n{SOLUTION}\n```\nCleaner:\n```python\ndef add(a, b):\n    return ("
    assert code(text) == SOLUTION


def test_untagged_and_capitalized_and_other_python_tags():
    assert code(f"```\n{SOLUTION}\n```") == SOLUTION
    assert code(f"```Python\n{SOLUTION}\n```") == SOLUTION
    assert code(f"```py3\n{SOLUTION}\n```") == SOLUTION
    assert code(f'```py title="solution.py"\n{SOLUTION}\n```') == SOLUTION
    assert code(f"```json\n{{}}\n```\n```python3 solution.py\n{SOLUTION}\n```") == SOLUTION


def test_a_doctest_block_is_an_example():
    text = f"```python\n{SOLUTION}\n```\n```python\n>>> add(1, 2)\n3\n```"
    assert code(text) == SOLUTION
    assert extract_code("```python\n>>> def add(a, b): return a + b\n>>> add(1, 2)\n3\n```") is None


def test_no_code_at_all():
    assert code("I cannot help with that.") is None
    assert code("") is None
    assert extract_code(None) is None


def test_a_block_that_imports_the_solution_and_defines_a_helper_is_an_example():
    example = "from solution import add\n\ndef show(x):\n    print(add(x, x))\n\nshow(2)"
    assert code(f"```python\n{example}\n```") is None
    assert extract_code(f"```python\n{SOLUTION}\n```\n```python\n{example}\n```") == SOLUTION
    assert extract_code(f"```python\n{example}\n```", module="other") == example


def test_a_broken_solution_is_still_returned_unless_another_parses():
    broken = "def add(a, b)\n    return a + b"
    assert code(f"```python\n{broken}\n```") == broken
    assert code(f"```python\n{broken}\n```\nFixed:\n```python\n{SOLUTION}\n```") == SOLUTION
    assert code(f"```python\n{SOLUTION}\n```\nShorter:\n```python\n{broken}\n```") == SOLUTION


def test_the_block_defining_every_entry_point_wins():
    both = "class Stack:\n    pass\n\ndef make():\n    return Stack()"
    text = f"```python\n{both}\n```\nAlso:\n```python\ndef make():\n    return None\n```"
    assert extract_code(text, entry_points=["Stack", "make"]) == both
    assert extract_code("```python\nadd = lambda a, b: a + b\n```", entry_points=["add"]) == "add = lambda a, b: a + b"


def test_without_entry_points_the_last_defining_block():
    text = f"```python\n{SOLUTION}\n```\n```python\nimport math\n\ndef area(r):\n    return math.pi * r * r\n```"
    assert extract_code(text) == "import math\n\ndef area(r):\n    return math.pi * r * r"
    # the entry point picks the block that defines it, wherever it stands
    assert code(text) == SOLUTION


def test_a_whole_reply_that_is_code():
    assert code(SOLUTION + "\n") == SOLUTION
    assert code("x + 1") is None  # parses, defines nothing


# ---- extract_code: a bug fix as a diff ------------------------------------------------------------

ORIGINAL = "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n\n    return total / (len(xs) - 1)\n"
FIXED = ORIGINAL.replace("(len(xs) - 1)", "len(xs)").strip("\n")


def test_a_diff_answer_is_applied_to_the_original():
    diff = ("--- a/solution.py\n+++ b/solution.py\n@@ -9,6 +9,6 @@ def mean(xs):\n     for x in xs:\n"
            "         total += x\n\n-    return total / (len(xs) - 1)\n+    return total / len(xs)\n")
    text = f"The divisor is wrong:\n```diff\n{diff}```\nThat fixes it."
    assert extract_code(text, entry_points=["mean"], original=ORIGINAL) == FIXED
    # bare hunks in the prose, a blank context line without its space, and a headerless ```diff
    bare = ("Change this:\n@@ -4,3 +4,3 @@\n         total += x\n\n-    return total / (len(xs) - 1)\n"
            "+    return total / len(xs)\nDone.")
    assert extract_code(bare, entry_points=["mean"], original=ORIGINAL) == FIXED
    headerless = "```diff\n-    return total / (len(xs) - 1)\n+    return total / len(xs)\n```"
    assert extract_code(headerless, entry_points=["mean"], original=ORIGINAL) == FIXED
    # windows line endings in the reply
    assert extract_code(text.replace("\n", "\r\n"), entry_points=["mean"], original=ORIGINAL) == FIXED


def test_a_diff_that_does_not_apply_gives_no_code_and_a_whole_file_beats_it():
    stale = "```diff\n-    return sum(xs) / 0\n+    return sum(xs) / len(xs)\n```"
    assert extract_code(stale, entry_points=["mean"], original=ORIGINAL) is None
    whole = f"{stale}\nThe whole file:\n```python\n{FIXED}\n```"
    assert extract_code(whole, entry_points=["mean"], original=ORIGINAL) == FIXED


def test_apply_diff_places_hunks_by_content():
    original = "a\nb\nc\nd\ne\nb\nc\n"
    two = "@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -6,2 +6,2 @@\n-b\n+X\n c\n"
    assert apply_diff(original, two) == "a\nB\nc\nd\ne\nX\nc\n"
    assert apply_diff(original, "@@ -1 +1 @@\n-z\n+y\n") is None
    assert apply_diff("x\n", "@@ -1,0 +2 @@\n+y\n") == "x\ny\n"
    assert apply_diff("x", "no hunks here") is None


# ---- extract_tests -------------------------------------------------------------------------------

TESTS = "from mathx import clamp\n\ndef test_inside():\n    assert clamp(2, 0, 3) == 2"


def test_extract_tests_takes_the_block_with_tests():
    module = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))"
    text = f"The module:\n```python\n{module}\n```\nTests:\n```python\n{TESTS}\n```\nRun with:\n```bash\npytest\n```"
    assert extract_tests(text, module="mathx") == TESTS
    klass = "import mathx\n\nclass TestClamp:\n    def test_low(self):\n        assert mathx.clamp(-1, 0, 3) == 0"
    assert extract_tests(f"```python\n{TESTS}\n```\nBetter:\n```python\n{klass}\n```", module="mathx") == klass
    assert extract_tests(f"```python\n{module}\n```", module="mathx") is None
    assert extract_tests(TESTS, module="mathx") == TESTS


def test_extract_tests_prefers_a_parsing_block_and_one_that_imports_the_module():
    broken = "from mathx import clamp\n\ndef test_x(:\n    pass"
    assert extract_tests(f"```python\n{TESTS}\n```\n```python\n{broken}\n```", module="mathx") == TESTS
    assert extract_tests(f"```python\n{broken}\n```", module="mathx") == broken
    inline = "def clamp(x, lo, hi):\n    return x\n\ndef test_inline():\n    assert clamp(1, 0, 2) == 1"
    assert extract_tests(f"```python\n{TESTS}\n```\n```python\n{inline}\n```", module="mathx") == TESTS


# ---- extract_files -------------------------------------------------------------------------------

@pytest.mark.parametrize("reply", [
    "utils.py\n```python\nA = 1\n```",
    "### utils.py\n\n```python\nA = 1\n```",
    "**utils.py**\n```python\nA = 1\n```",
    "File: utils.py\n```python\nA = 1\n```",
    "`utils.py`:\n```python\nA = 1\n```",
    "1. `utils.py` (updated)\n```python\nA = 1\n```",
    "Here is the updated `utils.py`:\n```python\nA = 1\n```",
    "```python utils.py\nA = 1\n```",
    "```python:utils.py\nA = 1\n```",
    '```py title="utils.py"\nA = 1\n```',
])
def test_every_way_of_naming_a_file(reply):
    assert extract_files(reply, ["utils.py", "main.py"]) == {"utils.py": "A = 1\n"}


def test_a_path_as_the_first_comment_line():
    text = "```python\n# utils.py\nA = 1\n```\n```python\n# File: pkg/util.py\nB = 2\n```"
    assert extract_files(text, ["utils.py"]) == {"utils.py": "# utils.py\nA = 1\n",
                                                  "pkg/util.py": "# File: pkg/util.py\nB = 2\n"}


def test_running_a_file_does_not_overwrite_it():
    text = ("main.py\n```python\nfrom utils import f\nprint(f())\n```\n"
            "utils.py\n```python\ndef f():\n    return 3\n```\n"
            "Running main.py:\n```bash\npython main.py\n```\nmain.py\n```console\n$ python main.py\n3\n```\n"
            "Output of main.py:\n```\n3\n```")
    assert extract_files(text, ["main.py", "utils.py"]) == {
        "main.py": "from utils import f\nprint(f())\n", "utils.py": "def f():\n    return 3\n"}


def test_unsafe_paths_are_not_files():
    text = "../evil.py\n```python\nx = 1\n```\n/etc/evil.py\n```python\ny = 2\n```"
    assert extract_files(text, ["app.py"]) == {}
    assert safe_path("./a/b.py") == "a/b.py" and safe_path("a/../b.py") is None and safe_path("/a.py") is None


def test_a_project_of_one_file_takes_a_lone_block():
    assert extract_files("```python\nonly = 1\n```", ["solo.py"]) == {"solo.py": "only = 1\n"}
    text = "```python\ndef g():\n    return 1\n```\nTry it:\n```python\nfrom solo import g\nprint(g())\n```"
    assert extract_files(text, ["solo.py"]) == {"solo.py": "def g():\n    return 1\n"}
    assert extract_files("```bash\npython solo.py\n```", ["solo.py"]) == {}


def test_a_file_given_twice_the_last_wins_and_bare_names_find_known_files():
    text = "utils.py\n```python\nA = 1\n```\nutils.py\n```python\nA = 2\n```"
    assert extract_files(text, ["src/utils.py"]) == {"src/utils.py": "A = 2\n"}


def test_other_files_take_blocks_of_their_language():
    text = "pyproject.toml\n```toml\n[project]\nname = 'x'\n```\nconfig.json\n```python\nx = 1\n```"
    assert extract_files(text, ["pyproject.toml", "config.json"]) == {"pyproject.toml": "[project]\nname = 'x'\n"}


def test_without_a_definition_a_block_of_statements_but_not_a_bare_call():
    assert extract_code("```python\nfrom mathx import clamp\n```") == "from mathx import clamp"
    assert extract_code("```python\nprint(add(1, 2))\n```") is None


def test_a_sentence_heading_names_the_first_file_it_mentions():
    text = "Now update utils.py to use the helper from main.py:\n```python\nfrom main import h\n```"
    assert extract_files(text, ["utils.py", "main.py"]) == {"utils.py": "from main import h\n"}


BUGFIX = [t for t in load_suite("core") if t.category == "bugfix"]


@pytest.mark.parametrize("task", BUGFIX, ids=lambda t: t.id)
@pytest.mark.parametrize("shift", [0, 7])
def test_a_difflib_diff_of_every_bug_fix_gives_the_reference(task, shift):
    """difflib writes the diff from the buggy file to the reference; applied back, even with the
    hunk line numbers off as a model writes them, it gives the reference exactly."""
    original, fixed = task.files["solution.py"], task.reference["solution.py"]
    diff = "".join(difflib.unified_diff(original.splitlines(True), fixed.splitlines(True), "a/solution.py",
                                        "b/solution.py"))
    diff = re.sub(r"^@@ -(\d+)", lambda m: f"@@ -{int(m.group(1)) + shift}", diff, flags=re.MULTILINE)
    assert apply_diff(original, diff) == fixed
    assert extract_code(f"Fix:\n```diff\n{diff}```", original=original) == fixed.strip("\n")

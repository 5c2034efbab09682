"""The answer out of a model's reply, chosen by the role each fenced block plays.

A reply holds the answer among drafts, usage examples, shell commands and program output. The
solution is the block that defines the task's entry point and does not import the solution
module (a block that imports it only uses it); tests are the block that defines ``test*``
functions or ``Test*`` classes; files are Python blocks under a path. Later blocks win over
earlier ones (models revise), complete ones over cut-off ones, parsing ones over broken ones.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from .fences import Block, fences, normalize
from .patch import apply_diff, looks_like_diff

PYTHON_LANGS = frozenset({"python", "py", "python3", "py3", "ipython", "ipython3", ""})
DIFF_LANGS = frozenset({"diff", "patch", "udiff"})
# never a file, whatever path stands above them
SHELL_LANGS = frozenset({"bash", "sh", "shell", "console", "zsh", "fish", "powershell", "ps1", "cmd", "bat",
                         "terminal", "output", "text", "txt", "plaintext", "log", "pycon", "doctest"})
# languages a block may carry to become a file with this extension
EXT_LANGS = {"toml": {"toml"}, "json": {"json", "jsonc"}, "yaml": {"yaml", "yml"}, "yml": {"yaml", "yml"},
             "cfg": {"ini", "cfg", "toml"}, "ini": {"ini", "cfg"}, "md": {"markdown", "md"}, "rst": {"rst"},
             "txt": {"text", "txt", "plaintext"}, "csv": {"csv"}}
_EXTS = ("py", "pyi", "toml", "json", "yaml", "yml", "cfg", "ini", "txt", "md", "rst", "csv")


@dataclass(frozen=True)
class Code:
    """A Python block and what it does at module level."""

    block: Block
    index: int  # its place among the reply's blocks
    code: str  # the body, dedented, without blank lines at either end
    parses: bool
    defines: frozenset[str]  # top-level def/class names
    binds: frozenset[str]  # defines plus top-level assignments (``add = lambda ...``)
    imports: frozenset[str]  # modules imported anywhere, leading dots dropped

    def imports_module(self, module: str) -> bool:
        return any(m == module or m.startswith(module + ".") for m in self.imports)

    def defines_tests(self) -> bool:
        # what pytest collects with the runner's settings: functions test*, classes Test*
        return any(n.startswith("test") or n.startswith("Test") for n in self.defines)


def safe_path(path: str) -> str | None:
    """A relative path inside the project, normalized; None for absolute paths or ``..``."""
    path = path.strip().strip("`'\"*:").removeprefix("./")
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return path


def extract_code(text: str, *, entry_points: Sequence[str] = (), module: str = "solution",
                 original: str | None = None) -> str | None:
    """The solution in a reply, or None when it holds none.

    The last block that defines ``entry_points`` (all of them before some) and does not import
    ``module``; a parsing, closed block before a broken or cut-off one. Else, with ``original``
    (the file to fix), a unified diff in the reply applied to it. Else the last block that
    defines something and does not import ``module``; else the last that parses and holds a
    statement other than an expression (imports, assignments: not just ``print(add(1, 2))``);
    else the whole reply, if it parses and defines something."""
    text = normalize(text)
    blocks = fences(text)
    own = [c for c in python_blocks(blocks) if not c.imports_module(module)]
    wanted = set(entry_points)
    if wanted:
        found = [c for c in own if c.binds & wanted]
        if found:
            return _last_best(found, lambda c: (wanted <= c.binds, c.parses, c.block.closed)).code
    if original is not None:
        patched = _patched(text, blocks, normalize(original))
        if patched is not None:
            return patched.strip("\n")
    defining = [c for c in own if c.defines]
    if defining:
        return _last_best(defining, lambda c: (c.parses, c.block.closed)).code
    statements = [c for c in own if _has_statements(c)]
    if statements:
        return _last_best(statements, lambda c: c.block.closed).code
    whole = analyse(Block("", "", text, 0, len(text), True, ""), -1)
    return whole.code if whole.parses and whole.defines else None


def extract_tests(text: str, *, module: str) -> str | None:
    """The test file in a reply: the last block defining ``test_*`` functions or ``Test*``
    classes; a parsing, closed one before a broken or cut-off one, then one that imports
    ``module`` (tests that never import it test nothing of it). None when there is none."""
    text = normalize(text)
    found = [c for c in python_blocks(fences(text)) if c.defines_tests()]
    if found:
        return _last_best(found, lambda c: (c.parses, c.block.closed, c.imports_module(module))).code
    whole = analyse(Block("", "", text, 0, len(text), True, ""), -1)
    return whole.code if whole.parses and whole.defines_tests() else None


def extract_files(text: str, known: list[str]) -> dict[str, str]:
    """Whole files out of a reply that gives each as its path followed by a code block.

    The path may stand on the line before the fence (``utils.py``, ``### src/utils.py``,
    ``**utils.py**``, ``File: utils.py``, ```` `utils.py`: ````, or a sentence ending in ``:``
    that names one file), in the fence's info string (```` ```python utils.py ````) or as a
    first comment line inside the block (``# utils.py``). Only Python blocks become ``.py``
    files (other files take a block of their language); shell, console and output blocks never
    do. Paths outside the project are ignored; a bare name that is the base name of exactly one
    known file is that file. A project of one file takes a block without a path. A file given
    twice is the last one."""
    text = normalize(text)
    pattern = _path_pattern(known)
    out: dict[str, str] = {}
    pathless: list[Code] = []
    for i, block in enumerate(fences(text)):
        if not block.body.strip():
            continue
        named = _block_path(block, pattern)
        if named is None:
            code = analyse(block, i)
            if _is_file_block(block, code, "py"):
                pathless.append(code)
            continue
        path = safe_path(named)
        if path is None:
            continue
        path = _known_path(path, known)
        ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
        if _is_file_block(block, analyse(block, i), ext):
            out[path] = textwrap.dedent(block.body).strip("\n") + "\n"
    if not out and len(known) == 1 and pathless:
        stem = known[0].rsplit("/", 1)[-1].removesuffix(".py")
        own = [c for c in pathless if not c.imports_module(stem)] or pathless
        best = _last_best(own, lambda c: (bool(c.defines), c.parses, c.block.closed))
        out[known[0]] = best.code + "\n"
    return out


def python_blocks(blocks: list[Block]) -> list[Code]:
    """The blocks that are Python code: tagged python/py/python3/py3/ipython or untagged, not
    empty, not a ``>>>`` doctest session (an example) and not a unified diff."""
    out = []
    for i, b in enumerate(blocks):
        if (b.lang in PYTHON_LANGS or b.lang.endswith(".py")) and b.body.strip() and not _doctest(b.body) \
                and not looks_like_diff(b.body):
            out.append(analyse(b, i))
    return out


def analyse(block: Block, index: int) -> Code:
    """What a block defines and imports at module level: by ``ast``, or by line patterns when
    it does not parse."""
    code = textwrap.dedent(block.body).strip("\n")
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return Code(block, index, code, False, *_scan(code))
    defines, binds, imports = set(), set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defines.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            binds.update(t.id for t in targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imports.add(node.module)
    return Code(block, index, code, True, frozenset(defines), frozenset(defines | binds), frozenset(imports))


_DEF = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.MULTILINE)
_BIND = re.compile(r"^(\w+)[ \t]*(?::[^=\n]*)?=(?!=)", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#]+)", re.MULTILINE)
_FROM = re.compile(r"^[ \t]*from[ \t]+\.*([\w.]+)[ \t]+import\b", re.MULTILINE)


def _scan(code: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    defines = set(_DEF.findall(code))
    imports = {part.split()[0] for line in _IMPORT.findall(code) for part in line.split(",") if part.split()}
    imports |= set(_FROM.findall(code))
    return frozenset(defines), frozenset(defines | set(_BIND.findall(code))), frozenset(imports)


def _last_best(codes: list[Code], rank) -> Code:
    return max(codes, key=lambda c: (rank(c), c.index))


def _has_statements(code: Code) -> bool:
    return code.parses and any(not isinstance(n, ast.Expr) for n in ast.parse(code.code).body)


def _doctest(body: str) -> bool:
    return body.lstrip().startswith(">>>")


def _patched(text: str, blocks: list[Block], original: str) -> str | None:
    """``original`` with the reply's diff applied: the last ```diff block (or Python/untagged
    block holding ``@@`` hunks) that applies, else bare hunks in the prose."""
    diffs = [b.body for b in blocks if b.lang in DIFF_LANGS
             or (b.lang in PYTHON_LANGS and looks_like_diff(b.body))]
    prose, at = [], 0
    for b in blocks:
        prose.append(text[at:b.start])
        at = b.end
    prose.append(text[at:])
    if looks_like_diff("".join(prose)):
        diffs.insert(0, "".join(prose))
    for diff in reversed(diffs):
        patched = apply_diff(original, diff)
        if patched is not None:
            return patched
    return None


# ---- paths ----------------------------------------------------------------------------------

_LIST_MARK = re.compile(r"^(?:[-+]|\d+[.)])\s+")
_LABEL = re.compile(r"^(?:file ?name|file|path|module)\s*[:=-]?\s*", re.IGNORECASE)
_PAREN = re.compile(r"\s*\([^()]*\)\s*$")
# a sentence above output or commands names the program it runs, not the file below
_NOT_A_HEADING = re.compile(r"\b(run|running|ran|output|outputs|execut\w*|usage|install\w*|result|results|prints?)\b",
                            re.IGNORECASE)


def _path_pattern(known: list[str]) -> re.Pattern[str]:
    exts = set(_EXTS) | {p.rsplit(".", 1)[-1] for p in known if "." in p.rsplit("/", 1)[-1]}
    alts = "|".join(sorted((re.escape(e) for e in exts), key=len, reverse=True))
    return re.compile(rf"(?<![\w./-])(/?(?:\.\.?/)*(?:[\w-][\w.-]*/)*[\w-][\w.-]*\.(?:{alts}))(?![\w/-]|\.\w)")


def _bare_path(s: str, pattern: re.Pattern[str]) -> str | None:
    """``s`` is nothing but a path, once Markdown marks, a list marker, a ``File:`` label, a
    trailing colon and a trailing ``(new file)`` are taken off."""
    s = re.sub(r"[`*#>]", "", s).strip()
    s = _LIST_MARK.sub("", s)
    s = _LABEL.sub("", s).strip(" -=:")
    s = _PAREN.sub("", s).strip(" -=:")
    return s if pattern.fullmatch(s) else None


def _block_path(block: Block, pattern: re.Pattern[str]) -> str | None:
    """The path a block is given under: its info string, then a first comment line that is only
    a path, then the line above the fence."""
    in_info = pattern.findall(block.info)
    if in_info:
        return in_info[0]
    first = next((ln for ln in block.body.split("\n") if ln.strip()), "")
    if first.lstrip().startswith(("#", "//")):
        named = _bare_path(first.lstrip().lstrip("#/"), pattern)
        if named:
            return named
    line = next((ln for ln in reversed(block.before.split("\n")) if ln.strip()), "")
    named = _bare_path(line, pattern)
    if named:
        return named
    sentence = re.sub(r"[`*]", "", line).strip()
    if sentence.endswith(":") and not _NOT_A_HEADING.search(sentence):
        mentioned = pattern.findall(sentence)
        if mentioned:
            return mentioned[0]
    return None


def _known_path(path: str, known: list[str]) -> str:
    if path in known or "/" in path:
        return path
    same = [k for k in known if k.rsplit("/", 1)[-1] == path]
    return same[0] if len(same) == 1 else path


def _is_file_block(block: Block, code: Code, ext: str) -> bool:
    """Whether a block can be a whole file with this extension."""
    if block.lang in EXT_LANGS.get(ext, ()):
        return True
    if block.lang in SHELL_LANGS or block.lang in DIFF_LANGS or looks_like_diff(block.body) \
            or _doctest(block.body):
        return False
    if ext in ("py", "pyi"):
        if block.lang == "":  # untagged: program output ("3", "[1, 2]") parses too; a module has statements
            return _has_statements(code)
        return block.lang in PYTHON_LANGS or block.lang.endswith(".py")
    return block.lang in ("", ext)

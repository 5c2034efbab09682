"""Secret detectors over one text: Yelp's ``detect-secrets`` plugins plus a few of our own.

``find_secrets(text)`` yields ``(kind, rule, start, end)`` spans; it never returns the value.

- The regex plugins of detect-secrets (AWS, Azure, GitHub, GitLab, Slack, Stripe, private keys,
  JWT, basic-auth URLs, npm, PyPI, OpenAI, SendGrid, Twilio, ...) run over the whole text at once
  (their ``denylist`` regexes, ``finditer``), which is what makes 60 KB cost a few milliseconds.
  Left out: ``IPPublicDetector`` (public IPs such as 8.8.8.8 are everywhere in ordinary code).
- ``KeywordDetector`` (``password = "..."``) runs only on lines that hold one of its keywords,
  with detect-secrets' own heuristic filters (templated, ``$VAR``, indirect references, ids,
  sequential strings, UUIDs, non-alphanumeric values).
- High-entropy strings count only next to a secret-sounding name (``api_token: "q8Zr..."``), so
  git hashes, sha256 digests, UUIDs and base64 test data in ordinary code are not flagged.
- Connection strings (``postgres://user:pass@host``, ``Password=...;``) and ``.env`` lines
  (``KEY=value`` where the name sounds secret or the value looks random).
- Documentation placeholders are not secrets: values containing ``EXAMPLE`` (AWS's published
  ``AKIAIOSFODNN7EXAMPLE``) and obvious stand-ins (``password``, ``changeme``, ``xxx``, ``<...>``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from functools import lru_cache

from detect_secrets.filters import heuristic
from detect_secrets.plugins import keyword as ds_keyword
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.jwt import JwtTokenDetector

SKIPPED_PLUGINS = {"IPPublicDetector", "KeywordDetector", "JwtTokenDetector"}

PLACEHOLDERS = {
    "password", "passwd", "pass", "secret", "changeme", "change_me", "changeit", "example",
    "xxx", "xxxx", "xxxxxx", "xxxxxxxx", "***", "****", "********", "none", "null", "true",
    "false", "test", "dummy", "redacted", "your_password", "yourpassword", "mypassword",
    "your-api-key", "your_api_key", "todo", "placeholder", "foo", "bar", "token",
}

SECRET_NAME = (
    r"(?:api[_-]?key|apikey|access[_-]?key|secret|token|passw(?:or)?d|pwd|credential|auth"
    r"|private[_-]?key|signing[_-]?key|client[_-]?secret|bearer|session[_-]?key|dsn|salt)"
)
_SECRET_NAME_RE = re.compile(SECRET_NAME, re.IGNORECASE)

# name = "value" / name: 'value' / "name": "value" with a long random-looking value
_NAMED_VALUE_RE = re.compile(
    SECRET_NAME + r"""[\w.-]*["']?\s*(?:=|:|:=|=>)\s*["']?"""
    r"""(?:bearer\s+|token\s+|basic\s+)?([a-z0-9+/=_\-.~]{16,})""",
)
# KEY=value at the start of a line (.env, shell export)
_ENV_LINE_RE = re.compile(  # the name starts a line or follows a space/tab ("export NAME=...")
    r"""(?m)([A-Z](?<![^ \t\n].)[A-Z0-9_]{1,63})=["']?([^\s"'#]{8,})["']?[ \t]*$""",
)
# scheme://user:password@host (any scheme: postgres, mysql, mongodb+srv, redis, amqp, https...)
_URL_CREDS_RE = re.compile(r"://(?<=[a-zA-Z0-9+.\-]://)[^\s:/@'\"]{1,128}:([^\s@/'\"]{1,256})@[\w.\-]")
# ADO.NET / ODBC style: Server=...;Password=...;
_KV_PASSWORD_RE = re.compile(r"(?i)(?:^|[;\"'])[ \t]*(?:password|pwd)=([^;\s'\"()]{3,})(?=[;\"']|$)")
_KEYWORD_LINE_RE = re.compile("|".join(ds_keyword.DENYLIST))  # run on the lower-cased text

# Exact shortcuts for the slow regexes, keyed by pattern text (a pattern not listed here, e.g.
# after a detect-secrets upgrade, runs over the whole text as before). Each one only skips text
# the regex cannot match in; tests/gateway/test_detectors.py checks that every listed pattern
# still exists and finds exactly what a plain ``finditer`` over the whole text finds.
#   ("fold", literals): a match holds one of these literals, case-folded (skip text without any)
#   ("case", literals): the same, case-sensitive
#   ("has", regex): a match holds a match of this quicker regex (skip text without one)
#   ("run", n): a match lies on one line and holds a run of >= n characters of [a-z0-9_-]
#               (ignoring case: its key), so only lines holding such a run are searched
_ASSIGNED = r"""(?:(?<=\W)|(?<=^))(?:\[|)(?:"|\'|)"""
_TO_VALUE = r"""(?:"|\'|)(?:\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:"|\'|)"""
PREFILTERS: dict[str, tuple[str, object]] = {
    # Artifactory: the literal token prefix, case-sensitive
    r"""(?:\s|=|:|"|^)AKC[a-zA-Z0-9]{10,}(?:\s|"|$)""": ("case", ("AKC",)),
    r"""(?:\s|=|:|"|^)AP[\dABCDEF][a-zA-Z0-9]{8,}(?:\s|"|$)""": ("has", re.compile(r"AP[\dABCDEF][a-zA-Z0-9]{8}")),
    r"""aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\'\"]([0-9a-zA-Z/+]{40})[\'\"]""": ("fold", ("aws",)),
    # key = value assignments whose value is a long token (IBM, Cloudant, SoftLayer)
    _ASSIGNED + r"""(?:ibm(?:_|-|)cloud(?:_|-|)iam|cloud(?:_|-|)iam|ibm(?:_|-|)cloud|ibm(?:_|-|)iam|ibm|iam|cloud|)"""
    r"""(?:_|-|)(?:api|)(?:_|-|)(?:key|pwd|password|pass|token)""" + _TO_VALUE
    + r"""([a-zA-Z0-9_\-]{44}(?![a-zA-Z0-9_\-]))(?:"|\'|)""": ("run", 44),
    _ASSIGNED + r"""(?:(?:ibm)?[-_]?cos[-_]?(?:hmac)?|)(?:_|-|)(?:secret[-_]?(?:access)?[-_]?key)""" + _TO_VALUE
    + r"""([a-f0-9]{48}(?![a-f0-9]))(?:"|\'|)""": ("run", 48),
    _ASSIGNED + r"""(?:softlayer|sl)(?:_|-|)(?:api|)(?:_|-|)(?:key|pwd|password|pass|token)""" + _TO_VALUE
    + r"""([a-z0-9]{64})(?:"|\'|)""": ("run", 64),
    _ASSIGNED + r"""(?:cloudant|cl|clou)(?:_|-|)(?:api|)(?:key|pwd|pw|password|pass|token)""" + _TO_VALUE
    + r"""([0-9a-f]{64})(?:"|\'|)""": ("run", 64),
    _ASSIGNED + r"""(?:cloudant|cl|clou)(?:_|-|)(?:api|)(?:key|pwd|pw|password|pass|token)""" + _TO_VALUE
    + r"""([a-z]{24})(?:"|\'|)""": ("run", 24),
    # URLs that name the service
    r"""(?:https?\:\/\/)[\w\-]+\:([0-9a-f]{64})\@[\w\-]+\.cloudant\.com""": ("fold", ("cloudant.com",)),
    r"""(?:https?\:\/\/)[\w\-]+\:([a-z]{24})\@[\w\-]+\.cloudant\.com""": ("fold", ("cloudant.com",)),
    r"""(?:http|https)://api.softlayer.com/soap/(?:v3|v3.1)/([a-z0-9]{64})""": ("fold", ("softlayer",)),
    r"""https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+""": ("fold", ("hooks.slack",)),
    r"""xox(?:a|b|p|o|s|r)-(?:\d+-)+[a-z0-9]+""": ("fold", ("xox",)),
    r"""(?:r|s)k_live_[0-9a-zA-Z]{24}""": ("fold", ("k_live_",)),           # Stripe
    # long tokens with a fixed shape
    r"""[0-9a-z]{32}-us[0-9]{1,2}""": ("run", 35),                          # Mailchimp
    r"""\d{8,10}:[0-9A-Za-z_-]{35}""": ("run", 35),                         # Telegram
    r"""\bhf_[A-Za-z]{34}\b""": ("run", 37),                                # Hugging Face
    r"""github_pat_[0-9A-Za-z_]{60,}""": ("case", ("github_pat_",)),
    r"""sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{40,}""": ("case", ("sk-ant-",)),
    r"""AIza[0-9A-Za-z_\-]{35}""": ("case", ("AIza",)),
    _KV_PASSWORD_RE.pattern: ("fold", ("password=", "pwd=")),
}
_RUN_RE = re.compile("[A-Za-z0-9_\\-\u0130\u0131\u017f\u212a]{24,}")  # and what IGNORECASE takes for a letter
# characters IGNORECASE matches to an ASCII letter whose lower() is not that single letter
_FOLD_EXTRA = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold(text: str) -> str:
    """``text`` lower-cased, with the few characters IGNORECASE takes for an ASCII letter mapped to
    it: an ASCII literal a case-insensitive regex must match is ``in`` this when it can match."""
    return (text if text.isascii() else text.translate(_FOLD_EXTRA)).lower()


class _Text:
    """One text and what the prefilters ask of it, each worked out once, when first needed."""

    __slots__ = ("text", "_fold", "_runs")

    def __init__(self, text: str) -> None:
        self.text = text
        self._fold: str | None = None
        self._runs: list[tuple[int, int, int]] | None = None

    @property
    def fold(self) -> str:
        if self._fold is None:
            self._fold = fold(self.text)
        return self._fold

    def lines_with_run(self, n: int) -> list[tuple[int, int]]:
        """(start, end) of each line holding a run of >= n key characters, in order."""
        if self._runs is None:
            text, runs = self.text, []
            for m in _RUN_RE.finditer(text):
                length = m.end() - m.start()
                if runs and runs[-1][1] > m.start():  # another run on the same line
                    start, end, longest = runs[-1]
                    runs[-1] = (start, end, max(longest, length))
                    continue
                end = text.find("\n", m.end())
                runs.append((text.rfind("\n", 0, m.start()) + 1, len(text) if end == -1 else end, length))
            self._runs = runs
        return [(s, e) for s, e, longest in self._runs if longest >= n]

    def finditer(self, rx: re.Pattern) -> Iterator[re.Match]:
        gate = PREFILTERS.get(rx.pattern)
        if gate is None:
            return rx.finditer(self.text)
        how, arg = gate
        if how == "run":
            return (m for s, e in self.lines_with_run(arg) for m in rx.finditer(self.text, s, e))
        if how == "has":
            return rx.finditer(self.text) if arg.search(self.text) else iter(())
        within = self.fold if how == "fold" else self.text
        return rx.finditer(self.text) if any(lit in within for lit in arg) else iter(())


# tokens detect-secrets 1.5 does not know (prefix-identified, so no false positives)
EXTRA_TOKENS = (
    ("github-fine-grained", re.compile(r"github_pat_[0-9A-Za-z_]{60,}")),
    ("anthropic", re.compile(r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{40,}")),
    ("google-api", re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    ("huggingface", re.compile(r"\bhf_[A-Za-z]{34}\b")),
)
_DOTTED_REF_RE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(value: str) -> bool:
    v = value.strip().strip("'\"")
    low = v.lower()
    if not v or low in PLACEHOLDERS or "example" in low:
        return True
    if (v[0], v[-1]) in {("<", ">"), ("{", "}"), ("[", "]"), ("%", "%")} or v.startswith(("${", "$", "{{")):
        return True
    return len(set(low)) <= 2  # "xxxxxxxx", "********", "00000000"


def looks_random(value: str) -> bool:
    """A token that looks generated: long, high entropy, mixed character classes, not a hash/UUID."""
    if (len(value) < 16 or _UUID_RE.match(value) or _HEX_RE.match(value) or is_placeholder(value)
            or _DOTTED_REF_RE.fullmatch(value)):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2 and entropy(value) >= 3.5


@lru_cache(maxsize=1)
def _regex_plugins() -> tuple[tuple[str, tuple[re.Pattern, ...]], ...]:
    import detect_secrets.plugins as pkg
    import importlib
    import pkgutil

    out = []
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for obj in vars(mod).values():
            if (isinstance(obj, type) and issubclass(obj, RegexBasedDetector)
                    and obj is not RegexBasedDetector and obj.__name__ not in SKIPPED_PLUGINS
                    and obj.__module__ == mod.__name__):
                out.append((obj.__name__, tuple(obj.denylist)))
    return tuple(sorted(out))


def _group_spans(m: re.Match) -> Iterator[tuple[int, int]]:
    if m.re.groups == 0:
        yield m.span()
        return
    spans = [m.span(g) for g in range(1, m.re.groups + 1) if m.group(g)]
    if spans and all(e - s >= 8 for s, e in spans):  # the group is the value (basic auth, AWS secret)
        yield from spans
    else:  # the group is a prefix (ghp, xoxb): the whole match is the token
        yield m.span()


def _min_width(rx: re.Pattern) -> int:
    """The fewest characters any match of ``rx`` spans (a shorter text cannot hold one)."""
    from re import _parser  # the stdlib's own pattern parser (``sre_parse``), for getwidth()

    return _parser.parse(rx.pattern, rx.flags).getwidth()[0]


@lru_cache(maxsize=1)
def _token_regexes() -> tuple[tuple[str, str, re.Pattern, int], ...]:
    """(plugin, rule, regex, its shortest match) of detect-secrets' regex plugins, then ours."""
    out = [(name, f"detect-secrets:{name}", rx, _min_width(rx)) for name, regexes in _regex_plugins()
           for rx in regexes]
    out += [(name, name, rx, _min_width(rx)) for name, rx in EXTRA_TOKENS]
    return tuple(out)


MIN_KEYWORD_VALUE = 6  # shorter values after "password =" are placeholders, not secrets


@lru_cache(maxsize=1)
def _widths() -> dict[str, int]:
    return {"jwt": _min_width(JwtTokenDetector.denylist[0]),
            "keyword": _min_width(_KEYWORD_LINE_RE) + MIN_KEYWORD_VALUE,  # the value follows the keyword
            "named": _min_width(_NAMED_VALUE_RE), "url": _min_width(_URL_CREDS_RE),
            "kv": _min_width(_KV_PASSWORD_RE), "env": _min_width(_ENV_LINE_RE)}


def find_secrets(text: str) -> Iterator[tuple[str, str, int, int]]:
    """Yield ``(kind, rule, start, end)`` for each secret-looking span of ``text``.

    A regex whose shortest match is longer than the text is not run at all: most strings in a
    request (roles, ids, tool names, short turns) are shorter than most detectors' matches."""
    n = len(text)
    ctx = _Text(text)
    for name, rule, rx, width in _token_regexes():
        if width > n:
            continue
        for m in ctx.finditer(rx):
            if rule is name:  # ours: the whole match is the token
                yield "secret", name, m.start(), m.end()
                continue
            for s, e in _group_spans(m):
                value = text[s:e]
                if name == "BasicAuthDetector" and is_placeholder(value):
                    continue
                if "EXAMPLE" in value.upper():
                    continue
                kind = "private-key" if name == "PrivateKeyDetector" else "secret"
                if name == "PrivateKeyDetector":  # the whole PEM block, not just its header line
                    end = text.find("-----END", e)
                    if end != -1:
                        stop = text.find("-----", end + 8)
                        e = stop + 5 if stop != -1 else len(text)
                yield kind, rule, s, e
    width = _widths()
    if n >= width["jwt"]:
        for m in JwtTokenDetector.denylist[0].finditer(text):
            if JwtTokenDetector.is_formally_valid(m.group(0)):
                yield "secret", "detect-secrets:JwtTokenDetector", m.start(), m.end()
    if n >= min(width["keyword"], width["named"]):
        low = text.lower()
        if len(low) != n:  # a few characters lower-case to two: keep offsets aligned
            low = "".join(ch.lower()[0] for ch in text)
        if n >= width["keyword"]:
            yield from _keyword_lines(text, low)
        if n >= width["named"]:
            for m in _NAMED_VALUE_RE.finditer(low):  # lower-cased: no slow IGNORECASE; value from text
                value = text[m.start(1):m.end(1)]
                if looks_random(value):
                    yield "high-entropy", "named-high-entropy", m.start(1), m.end(1)
    if n >= width["url"]:
        for m in ctx.finditer(_URL_CREDS_RE):
            if not is_placeholder(m.group(1)):
                yield "connection-string", "url-credentials", m.start(1), m.end(1)
    if n >= width["kv"]:
        for m in ctx.finditer(_KV_PASSWORD_RE):
            if not is_placeholder(m.group(1)):
                yield "connection-string", "password-field", m.start(1), m.end(1)
    if n >= width["env"]:
        for m in _ENV_LINE_RE.finditer(text):
            name, value = m.group(1), m.group(2)
            if is_placeholder(value) or "://" in value:  # URLs: only their credentials count
                continue
            if (_SECRET_NAME_RE.search(name) and len(value) >= 8 and not value.isdigit()) or looks_random(value):
                yield "env-line", "env-assignment", m.start(2), m.end(2)


_KEYWORD_PLUGIN = ds_keyword.KeywordDetector()
_KEYWORD_REGEXES = {**ds_keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
                    **ds_keyword.CONFIG_DENYLIST_REGEX_TO_GROUP}


def _keyword_lines(text: str, low: str) -> Iterator[tuple[str, str, int, int]]:
    seen_lines: set[int] = set()
    for hit in _KEYWORD_LINE_RE.finditer(low):
        start = text.rfind("\n", 0, hit.start()) + 1
        if start in seen_lines:
            continue
        seen_lines.add(start)
        end = text.find("\n", hit.end())
        end = len(text) if end == -1 else end
        line = text[start:end]
        if len(line) > 1000 or heuristic.is_indirect_reference(line):
            continue
        for value in _KEYWORD_PLUGIN.analyze_string(line, _KEYWORD_REGEXES):
            if (not value or is_placeholder(value) or len(value) < MIN_KEYWORD_VALUE
                    or heuristic.is_templated_secret(value)
                    or heuristic.is_prefixed_with_dollar_sign(value)
                    or heuristic.is_likely_id_string(value, line)
                    or heuristic.is_sequential_string(value)
                    or heuristic.is_potential_uuid(value)
                    or heuristic.is_not_alphanumeric_string(value)
                    or _DOTTED_REF_RE.fullmatch(value)  # settings.API_KEY
                    or not re.fullmatch(r"[^\s(){}\[\],]+", value)):
                continue
            pos = line.find(value)
            if pos != -1:
                yield "secret", "detect-secrets:KeywordDetector", start + pos, start + pos + len(value)
            break

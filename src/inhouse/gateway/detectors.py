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
_ENV_LINE_RE = re.compile(
    r"""(?m)(?:^|(?<=[ \t]))(?:export[ \t]+)?([A-Z][A-Z0-9_]{1,63})=["']?([^\s"'#]{8,})["']?[ \t]*$""",
)
# scheme://user:password@host (any scheme: postgres, mysql, mongodb+srv, redis, amqp, https...)
_URL_CREDS_RE = re.compile(r"(?<=[a-zA-Z0-9+.\-])://[^\s:/@'\"]{1,128}:([^\s@/'\"]{1,256})@[\w.\-]")
# ADO.NET / ODBC style: Server=...;Password=...;
_KV_PASSWORD_RE = re.compile(r"(?i)(?:^|[;\"'])[ \t]*(?:password|pwd)=([^;\s'\"()]{3,})(?=[;\"']|$)")
_KEYWORD_LINE_RE = re.compile("|".join(ds_keyword.DENYLIST))  # run on the lower-cased text
# a literal each plugin's regex cannot match without (checked on the lower-cased text): skips
# the slow regexes on the usual text that holds none of them
GATES = {
    "IbmCloudIamDetector": "iam", "IbmCosHmacDetector": "secret", "StripeDetector": "k_live_",
    "SlackDetector": ("xox", "hooks.slack"), "CloudantDetector": "cl", "SoftlayerDetector": "sl",
    "ArtifactoryDetector": "ap", "huggingface": "hf_", "github-fine-grained": "github_pat_",
    "anthropic": "sk-ant-", "google-api": "aiza",
}


def _gated(name: str, low: str) -> bool:
    gate = GATES.get(name)
    if gate is None:
        return False
    return not any(g in low for g in ((gate,) if isinstance(gate, str) else gate))
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


def find_secrets(text: str) -> Iterator[tuple[str, str, int, int]]:
    """Yield ``(kind, rule, start, end)`` for each secret-looking span of ``text``."""
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two: keep offsets aligned
        low = "".join(ch.lower()[0] for ch in text)
    for name, regexes in _regex_plugins():
        if _gated(name, low):
            continue
        for rx in regexes:
            for m in rx.finditer(text):
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
                    yield kind, f"detect-secrets:{name}", s, e
    for name, rx in EXTRA_TOKENS:
        if _gated(name, low):
            continue
        for m in rx.finditer(text):
            yield "secret", name, m.start(), m.end()
    for m in JwtTokenDetector.denylist[0].finditer(text):
        if JwtTokenDetector.is_formally_valid(m.group(0)):
            yield "secret", "detect-secrets:JwtTokenDetector", m.start(), m.end()
    yield from _keyword_lines(text, low)
    for m in _NAMED_VALUE_RE.finditer(low):  # lower-cased: no slow IGNORECASE; value from text
        value = text[m.start(1):m.end(1)]
        if looks_random(value):
            yield "high-entropy", "named-high-entropy", m.start(1), m.end(1)
    for m in _URL_CREDS_RE.finditer(text):
        if not is_placeholder(m.group(1)):
            yield "connection-string", "url-credentials", m.start(1), m.end(1)
    for m in _KV_PASSWORD_RE.finditer(text):
        if not is_placeholder(m.group(1)):
            yield "connection-string", "password-field", m.start(1), m.end(1)
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
            if (not value or is_placeholder(value) or len(value) < 6
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

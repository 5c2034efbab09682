"""The privacy scanner (issue 12 item 2): is anything in a request private? Pure, no HTTP.

``Scanner(rules).scan_request(protocol, body)`` walks EVERY string in the parsed request, both
protocols alike (system prompt as a string or blocks, messages, every content block, tool-call
arguments, tool results with nested content, tool definitions, unknown future fields), and the
text that is base64-, URL- or JSON-string-encoded inside those (decoded and rescanned, two levels
deep at most). Findings say where (``messages[3].content[1].text`` and a character span) and what
kind, NEVER the value. Fail closed: any exception or running past ``timeout_s`` makes the request
private with ``error`` set.

Agents resend the whole conversation every turn, so verdicts are cached per message (and per
other top-level field) by a hash of its content: the next turn costs only the new message.
Path verdicts depend on ``.inhouse-private`` files on this machine; a cached verdict keeps what
was true when its message was first seen (lookups are cached for ``marker_ttl_s`` too).

Not scanned: inline image data (``source.data`` of base64 images, ``data:image/...`` URLs).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError
from .detectors import find_secrets, fold

MODES = ("local", "redact")
PRIVATE_MARKER_FILE = ".inhouse-private"
MAX_DEPTH = 2            # decode-and-rescan levels
MIN_ENCODED = 16         # shortest base64 token worth decoding
MAX_DECODED = 2_000_000  # characters decoded per request, all layers together


@dataclass(frozen=True)
class Finding:
    """One private thing: what kind, which rule, where. Never the value itself.

    ``start``/``end`` index the string at ``location`` in the request as sent; for text found
    after decoding (``via`` = "base64", "url" or "json") they span the encoded text."""

    kind: str
    rule: str
    location: str
    start: int
    end: int
    via: str = ""
    mode: str = "local"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScanResult:
    private: bool
    findings: list[Finding] = field(default_factory=list)
    mode: str | None = None        # "local" (pin to local backends), "redact", or None (not private)
    error: str | None = None       # set when the scan failed: the request counts as private
    duration_s: float = 0.0

    def to_dict(self) -> dict:
        return {"private": self.private, "mode": self.mode, "error": self.error,
                "duration_s": self.duration_s, "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class Rule:
    """A user rule from ``[policy.privacy]``: regex patterns, marker words, path globs."""

    name: str
    mode: str = "local"
    patterns: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrivacyRules:
    rules: tuple[Rule, ...] = ()
    secrets: bool = True             # the built-in detectors
    secrets_mode: str = "local"
    repo_marker: bool = True         # a repository holding .inhouse-private is private
    timeout_s: float = 2.0
    marker_ttl_s: float = 10.0

    @classmethod
    def from_config(cls, table: dict | None, *, source: str = "[policy.privacy]") -> PrivacyRules:
        """Build from the ``[policy.privacy]`` table of the serve config.

        Top-level ``patterns``/``markers``/``paths``/``mode`` form one rule named "privacy";
        ``[[policy.privacy.rule]]`` entries (each with a ``name``) add more."""
        table = dict(table or {})

        def fail(key: str, what: str) -> ConfigError:
            return ConfigError(f"{source}: {key} {what}; fix it in the config file")

        def strings(t: dict, key: str, where: str) -> tuple[str, ...]:
            val = t.get(key, [])
            if isinstance(val, str):
                val = [val]
            if not isinstance(val, list) or not all(isinstance(v, str) and v for v in val):
                raise fail(f"{where}{key}", "must be a list of non-empty strings")
            return tuple(val)

        def mode(t: dict, key: str, where: str, default: str = "local") -> str:
            val = t.get(key, default)
            if val not in MODES:
                raise fail(f"{where}{key}", f'must be "local" or "redact", not {val!r}')
            return val

        def rule(t: dict, name: str, where: str) -> Rule:
            known = {"name", "mode", "patterns", "markers", "paths"}
            extra = set(t) - known
            if extra:
                raise fail(f"{where}{sorted(extra)[0]}", f"is not a rule key (use {', '.join(sorted(known))})")
            r = Rule(name, mode(t, "mode", where), strings(t, "patterns", where),
                     strings(t, "markers", where), strings(t, "paths", where))
            for p in r.patterns:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise fail(f"{where}patterns", f"has a bad regex {p!r} ({exc})") from None
            return r

        rules = []
        top = {k: table.pop(k) for k in ("patterns", "markers", "paths", "mode") if k in table}
        if set(top) - {"mode"}:
            rules.append(rule(top, "privacy", ""))
        for i, entry in enumerate(table.pop("rule", [])):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise fail(f"rule[{i}].name", "must be a string")
            rules.append(rule(entry, entry["name"], f"rule[{i}]."))
        secrets_mode = mode(table, "secrets_mode", "")
        secrets = table.pop("secrets", True)
        repo_marker = table.pop("repo_marker", True)
        timeout_s = table.pop("timeout_s", 2.0)
        table.pop("secrets_mode", None)
        if not isinstance(secrets, bool) or not isinstance(repo_marker, bool):
            raise fail("secrets/repo_marker", "must be true or false")
        if not isinstance(timeout_s, (int, float)) or isinstance(timeout_s, bool) or timeout_s <= 0:
            raise fail("timeout_s", "must be a positive number of seconds")
        if table:
            raise fail(sorted(table)[0], "is not a [policy.privacy] key")
        return cls(tuple(rules), secrets, secrets_mode, repo_marker, float(timeout_s))


class ScanTimeout(Exception):
    pass


def glob_regex(glob: str) -> re.Pattern:
    """``~/work/acme/**`` -> a regex over absolute paths (``**`` any depth, ``*`` one segment).
    A glob ending in ``/**`` also matches the folder itself."""
    g = os.path.expanduser(glob.rstrip("/")) if glob not in ("/", "~") else os.path.expanduser(glob)
    tail = ""
    if g.endswith("/**"):
        g, tail = g[:-3], "(?:/.*)?"
    out, i = [], 0
    while i < len(g):
        if g.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif g.startswith("**", i):
            out.append(".*")
            i += 2
        elif g[i] == "*":
            out.append("[^/]*")
            i += 1
        elif g[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(g[i]))
            i += 1
    return re.compile("".join(out) + tail + r"\Z")


# a path: "/..." or "~/..." (optionally after "file://") at the start of the text or after a space,
# quote, "=", bracket or comma. Each branch starts with a literal, so the regex engine jumps from
# one candidate character to the next (a lookbehind first would make it try every position).
_PATH_START = r"""[^\s"'`=(\[<,{>]"""
_PATH_CHARS = r"""[^\s"'`<>()\[\]{},;*?|\\]+"""
_PATH_RE = re.compile(rf"""f(?<!{_PATH_START}f)ile://(~?/{_PATH_CHARS})|(~(?<!{_PATH_START}~)/{_PATH_CHARS})"""
                      rf"""|(/(?<!{_PATH_START}/){_PATH_CHARS})""")
_B64_RE = re.compile(r"[A-Za-z0-9+/_\-]{%d,}={0,2}" % MIN_ENCODED)
_PCT_RE = re.compile(r"%[0-9A-Fa-f]{2}")
_URL_TOKEN_END = re.compile(r"[\s\"'<>]")
_IMAGE_KEYS = {"image_url", "input_image"}
# field names of the two protocols: not worth scanning as text (user-chosen keys, e.g. in tool
# inputs and schemas, are)
_PROTOCOL_KEYS = frozenset(
    "role content type text name id tool_calls tool_call_id function arguments tool_use_id input "
    "thinking signature source media_type data url image_url cache_control is_error description "
    "parameters input_schema properties required model messages system tools tool_choice stream "
    "max_tokens temperature top_p stop metadata user_id".split())


def _printable(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for ch in text if not ch.isprintable() and ch not in "\n\r\t")
    return bad <= len(text) // 20


class Scanner:
    """Scans requests and texts against ``PrivacyRules``; safe to share between threads."""

    def __init__(self, rules: PrivacyRules | None = None, *, cache_size: int = 20_000):
        self.rules = rules or PrivacyRules()
        self._cache: OrderedDict[bytes, tuple] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._marker_cache: dict[str, tuple[float, bool]] = {}
        self._text_rules = []
        for r in self.rules.rules:
            for p in r.patterns:
                self._text_rules.append(("pattern", r, re.compile(p), None))
            if r.markers:
                words = "|".join(re.escape(m) for m in r.markers)
                # ASCII markers: a text whose folded form holds none of them is not searched
                gate = tuple(m.lower() for m in r.markers) if all(m.isascii() for m in r.markers) else None
                self._text_rules.append(("marker", r, re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.I), gate))
        self._path_rules = [(r, glob_regex(g)) for r in self.rules.rules for g in r.paths]
        self._call = threading.local()  # one scan's deadline and decode budget, per thread

    # ---- public API -------------------------------------------------------------------------

    def scan_text(self, text: str, *, location: str = "text") -> list[Finding]:
        """Findings in one text (decoded layers included). Raises on failure: ``scan_request``
        is the fail-closed entry point."""
        self._call.deadline = time.monotonic() + self.rules.timeout_s
        self._call.decoded = 0
        return self._dedupe(self._scan_string(text, location, 0))

    def scan_request(self, protocol: str, body: Any) -> ScanResult:
        """Scan a parsed request body (``protocol`` "openai" or "anthropic"; both are walked
        whole). Never raises: a failure or timeout gives ``private=True`` with ``error``."""
        t0 = time.monotonic()
        try:
            if protocol not in ("openai", "anthropic"):
                raise ValueError(f"unknown protocol {protocol!r}")
            self._call.deadline = t0 + self.rules.timeout_s
            self._call.decoded = 0
            findings = self._dedupe(self._scan_body(body))
        except ScanTimeout:
            return ScanResult(True, [], "local", f"scan timed out after {self.rules.timeout_s:g} s",
                              time.monotonic() - t0)
        except Exception as exc:  # fail closed on anything
            return ScanResult(True, [], "local", f"scan failed: {type(exc).__name__}: {exc}"[:300],
                              time.monotonic() - t0)
        mode = None
        if findings:
            mode = "local" if any(f.mode == "local" for f in findings) else "redact"
        return ScanResult(bool(findings), findings, mode, None, time.monotonic() - t0)

    # ---- walking ----------------------------------------------------------------------------

    def _scan_body(self, body: Any) -> list[Finding]:
        if not isinstance(body, dict):
            return self._walk(body, "", 0)
        out: list[Finding] = []
        for key, value in body.items():
            if key == "messages" and isinstance(value, list):
                for i, msg in enumerate(value):
                    out += self._cached(msg, f"messages[{i}]")
            else:
                out += self._cached(value, key, key_text=key)
        return out

    def _cached(self, value: Any, location: str, key_text: str = "") -> list[Finding]:
        if value is None or isinstance(value, (str, bool, int, float)):  # "model", "stream": no JSON to build
            raw = f"{type(value).__name__}\0{len(key_text)}\0{key_text}{value}"  # unambiguous
        else:
            raw = "j\0" + json.dumps([key_text, value], sort_keys=True, ensure_ascii=False, default=str)
        digest = hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None:
                self._cache.move_to_end(digest)
        if hit is None:
            found = self._walk(value, "", 0)
            if key_text:
                found += [Finding(k, r, "#key", s, e, v, "local")
                          for k, r, _, s, e, v, _ in (astuple_(f) for f in self._scan_string(key_text, "", 0))]
            hit = tuple(astuple_(f) for f in found)
            with self._lock:
                self._cache[digest] = hit
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return [Finding(k, r, _join(location, loc), s, e, v, m) for k, r, loc, s, e, v, m in hit]

    def _walk(self, value: Any, loc: str, depth: int) -> list[Finding]:
        if isinstance(value, str):
            return self._scan_string(value, loc, depth)
        out: list[Finding] = []
        if isinstance(value, dict):
            if value.get("type") in ("base64", "image") and str(value.get("media_type", "")).startswith("image/"):
                value = {k: v for k, v in value.items() if k != "data"}
            for k, v in value.items():
                child = f"{loc}.{k}" if loc else str(k)
                if k in _IMAGE_KEYS and isinstance(v, dict) and str(v.get("url", "")).startswith("data:image/"):
                    v = {kk: vv for kk, vv in v.items() if kk != "url"}
                out += self._walk(v, child, depth)
                if isinstance(k, str) and k not in _PROTOCOL_KEYS:  # keys are text too (tool inputs); a key cannot be redacted
                    out += [Finding(f.kind, f.rule, f"{child}#key", f.start, f.end, f.via, "local")
                            for f in self._scan_string(k, child, depth)]
        elif isinstance(value, list):
            for i, v in enumerate(value):
                out += self._walk(v, f"{loc}[{i}]", depth)
        return out

    # ---- one string -------------------------------------------------------------------------

    def _scan_string(self, text: str, loc: str, depth: int) -> list[Finding]:
        if time.monotonic() > getattr(self._call, "deadline", float("inf")):
            raise ScanTimeout
        out: list[Finding] = []
        if self.rules.secrets:
            smode = self.rules.secrets_mode
            out += [Finding(k, r, loc, s, e, "", smode) for k, r, s, e in find_secrets(text)]
        folded = None
        for kind, rule, rx, gate in self._text_rules:
            if gate is not None:
                folded = fold(text) if folded is None else folded
                if not any(word in folded for word in gate):
                    continue
            out += [Finding(kind, f"rule:{rule.name}", loc, m.start(), m.end(), "", rule.mode)
                    for m in rx.finditer(text) if m.end() > m.start()]
        if "/" in text:
            out += self._scan_paths(text, loc)
        if depth < MAX_DEPTH:
            out += self._scan_decoded(text, loc, depth)
        return out

    def _scan_paths(self, text: str, loc: str) -> Iterator[Finding]:
        out = []
        for m in _PATH_RE.finditer(text):
            group = m.lastindex or 1
            raw = m.group(group).rstrip(".:")
            if len(raw) < 2:
                continue
            path = os.path.normpath(os.path.expanduser(raw))
            start, end = m.start(group), m.start(group) + len(raw)
            for rule, rx in self._path_rules:
                if rx.match(path):
                    out.append(Finding("path", f"rule:{rule.name}", loc, start, end, "", rule.mode))
                    break
            else:
                if self.rules.repo_marker and self._under_marker(path):
                    out.append(Finding("path", "private-repo", loc, start, end, "", "local"))
        return out

    def _under_marker(self, path: str) -> bool:
        now = time.monotonic()
        d = path
        seen = []
        while True:
            hit = self._marker_cache.get(d)
            if hit is not None and now - hit[0] < self.rules.marker_ttl_s:
                found = hit[1]
                break
            if os.path.isfile(os.path.join(d, PRIVATE_MARKER_FILE)):
                found = True
                seen.append(d)
                break
            seen.append(d)
            parent = os.path.dirname(d)
            if parent == d:
                found = False
                break
            d = parent
        for s in seen:  # every folder walked shares the answer of the first marker above it
            self._marker_cache[s] = (now, found)
        if len(self._marker_cache) > 50_000:
            self._marker_cache.clear()
        return found

    def _scan_decoded(self, text: str, loc: str, depth: int) -> list[Finding]:
        out: list[Finding] = []
        for start, end, via, decoded in self._decodings(text):
            if inner := self._scan_string(decoded, loc, depth + 1):
                out += [Finding(f.kind, f.rule, loc, *_outer_span(text, start, end, via, decoded, f),
                                f.via or via, f.mode) for f in inner]
        return out

    def _decodings(self, text: str) -> Iterator[tuple[int, int, str, str]]:
        s = text.strip()
        if s[:1] in "{[\"" and s[-1:] in "}]\"" and len(s) > 2:
            try:
                obj = json.loads(s)
            except ValueError:
                obj = None
            if obj is not None and not isinstance(obj, (int, float, bool)):
                for sub in _strings(obj):
                    if self._budget(sub):
                        yield 0, len(text), "json", sub
        if "%" in text:
            for start, end in _url_tokens(text):
                token = text[start:end]
                dec = urllib.parse.unquote_plus(token)
                if dec != token and self._budget(dec):
                    yield start, end, "url", dec
        for m in _B64_RE.finditer(text):
            tok = m.group(0)
            if tok.isalpha() or tok.isdigit() or "/" in tok.strip("/") and tok.count("/") * 8 > len(tok):
                continue  # words and paths, not base64
            try:
                raw = base64.b64decode(tok.replace("-", "+").replace("_", "/") + "=" * (-len(tok) % 4))
                dec = raw.decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                continue
            if len(dec) >= 6 and _printable(dec) and self._budget(dec):
                yield m.start(), m.end(), "base64", dec

    def _budget(self, decoded: str) -> bool:
        self._call.decoded = getattr(self._call, "decoded", 0) + len(decoded)
        if self._call.decoded > MAX_DECODED:
            raise ScanTimeout  # a request built to explode decoding is treated like a timeout
        return True

    @staticmethod
    def _dedupe(findings: list[Finding]) -> list[Finding]:
        seen, out = set(), []
        for f in findings:
            key = (f.location, f.start, f.end)
            if key not in seen:
                seen.add(key)
                out.append(f)
        return out


def _url_tokens(text: str) -> list[tuple[int, int]]:
    """(start, end) of each whole token (a run of characters other than space, quotes and angle
    brackets) that holds a ``%XX`` escape, in order."""
    spans: list[tuple[int, int]] = []
    backwards = None  # the text reversed: the token's start is the first delimiter found going back
    for m in _PCT_RE.finditer(text):
        if spans and m.start() < spans[-1][1]:
            continue  # another escape in the same token
        if backwards is None:
            backwards = text[::-1]
        back = _URL_TOKEN_END.search(backwards, len(text) - m.start())
        stop = _URL_TOKEN_END.search(text, m.end())
        spans.append((len(text) - back.start() if back else 0, stop.start() if stop else len(text)))
    return spans


def _join(prefix: str, loc: str) -> str:
    if not loc or loc[0] in "[#":
        return prefix + loc
    return f"{prefix}.{loc}"


def astuple_(f: Finding) -> tuple:
    return (f.kind, f.rule, f.location, f.start, f.end, f.via, f.mode)


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _outer_span(text: str, start: int, end: int, via: str, decoded: str, f: Finding) -> tuple[int, int]:
    """Where a finding in decoded text lies in the encoded text: the exact escaped value when it
    can be found there (JSON), else the whole encoded token."""
    if via == "json" and not f.via:
        value = decoded[f.start:f.end]
        for ascii_ in (False, True):
            esc = json.dumps(value, ensure_ascii=ascii_)[1:-1]
            pos = text.find(esc, start, end)
            if esc and pos != -1:
                return pos, pos + len(esc)
    return start, end


def redact_request(protocol: str, body: dict, result: ScanResult):
    """A copy of ``body`` with each finding replaced by ``⟦secret-N⟧`` and a ``Restorer``
    (see ``inhouse.gateway.redact``)."""
    from .redact import redact_request as _redact

    return _redact(protocol, body, result)

"""The routing point: one pure decision, ``decide(request, ...) -> Route(chain, reasons)``.

It sees the whole parsed request (protocol, model, body, session), so the privacy and
capability policy of issue 12 can plug in here and add its own reasons. Nothing here does I/O:
backend availability and the session's sticky backend are passed in.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import InhouseError


class NoRoute(InhouseError):
    """No route of the config matches the requested model name."""


@dataclass(frozen=True)
class ParsedRequest:
    protocol: str                 # "openai" | "anthropic": what the client speaks
    model: str                    # the model name the client asked for
    body: dict[str, Any] = field(repr=False)
    session: str = ""
    stream: bool = False


@dataclass(frozen=True)
class Route:
    name: str                     # the matching route's pattern
    chain: tuple[str, ...]        # backend names, in the order to try them
    reasons: tuple[str, ...]      # every reason for that order, in words
    private: bool = False         # the privacy scan marked it (or failed): local backends only, or redacted
    redact: bool = False          # cloud backends get the body with findings replaced by placeholders
    refusal: str | None = None    # set when the policy leaves no backend: the one-line error for the client
    status: int = 0               # the HTTP status of that refusal
    findings: tuple[dict, ...] = ()   # privacy findings: kind, rule, location (never a value)
    figures: tuple[dict, ...] = ()    # the eval figures capability rules used


@dataclass(frozen=True)
class PolicyInput:
    """What the policy (``policy.evaluate``) sees besides the route: all computed before, no I/O here."""
    policy: Any                   # policy.Policy
    backends: Mapping[str, Any]   # name -> policy.BackendFacts
    request: Any                  # policy.RequestClass
    scan: Any = None              # the privacy scanner's ScanResult, or None when not scanned
    explicit: str | None = None   # a backend the client named
    figures: Mapping[Any, Any] = field(default_factory=dict)


def session_key(protocol: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """A session id: the ``x-session-id`` header, Anthropic ``metadata.user_id``, or a stable hash
    of the system prompt and the first user message."""
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("x-session-id"):
        return "h:" + lower["x-session-id"][:200]
    metadata = body.get("metadata")
    if protocol == "anthropic" and isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        return "u:" + metadata["user_id"][:200]
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    system = body.get("system") if protocol == "anthropic" else None
    if system is None:
        system = next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "system"), None)
    first_user = next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"), None)
    blob = json.dumps([system, first_user], sort_keys=True, default=str).encode()
    return "p:" + hashlib.sha256(blob).hexdigest()[:24]


def match_route(model: str, routes: Sequence[Any]) -> Any:
    """The first route whose ``match`` glob matches ``model`` (case-insensitive), else ``NoRoute``."""
    name = model.lower()
    for route in routes:
        if _glob(route.match.lower()).match(name):
            return route
    patterns = ", ".join(repr(r.match) for r in routes) or "none"
    raise NoRoute(f"no route for model {model!r} (routes: {patterns}); add a [[route]] whose match covers it")


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern:
    return re.compile(fnmatch.translate(pattern))


def decide(request: ParsedRequest, routes: Sequence[Any], *, available: Mapping[str, bool],
           sticky: str | None = None, policy: PolicyInput | None = None) -> Route:
    """The backends to try for ``request``, in order, with the reasons.

    With ``policy``, its rules (privacy, explicit choice, capability, context) first narrow the
    route's chain (``policy.evaluate``). Then the chain is kept in order, except that the session's
    sticky backend goes first while it is available, and backends that are cooling down go last
    (still tried when nothing else is left; a private request with no local backend up is refused)."""
    route = match_route(request.model, routes)
    chain = list(route.chain)
    reasons = [f"model {request.model!r} matches route {route.match!r} -> {' > '.join(chain)}"]
    extra: dict[str, Any] = {}
    if policy is not None:
        from .policy import evaluate

        verdict = evaluate(chain, policy.backends, policy=policy.policy, request=policy.request, scan=policy.scan,
                           explicit=policy.explicit, figures=policy.figures)
        reasons.extend(verdict.reasons)
        extra = dict(private=verdict.private, redact=verdict.redact, findings=verdict.findings,
                     figures=verdict.figures)
        if verdict.refusal:
            return Route(route.match, (), tuple(reasons), refusal=verdict.refusal, status=verdict.status, **extra)
        chain = list(verdict.chain)
        if verdict.private and not verdict.redact and not any(available.get(n, True) for n in chain):
            reasons.append("availability: no local backend is up (" + ", ".join(chain) + " cooling down)")
            return Route(route.match, (), tuple(reasons), refusal="the request is private and no local backend "
                         "is up (" + ", ".join(chain) + " cooling down after failures); it was not sent to the "
                         "cloud. Retry when the local backend is back (inhouse serve's /health)", status=503,
                         **extra)
    if sticky and sticky in chain and available.get(sticky, True) and chain[0] != sticky:
        chain.remove(sticky)
        chain.insert(0, sticky)
        reasons.append(f"session stays on {sticky} (it served this session before)")
    elif sticky and sticky == chain[0]:
        reasons.append(f"session stays on {sticky}")
    cooling = [name for name in chain if not available.get(name, True)]
    if cooling and len(cooling) < len(chain):
        chain = [n for n in chain if n not in cooling] + cooling
        reasons.append("cooling down, tried last: " + ", ".join(cooling))
    elif cooling:
        reasons.append("every backend of the route is cooling down; trying them anyway")
    return Route(route.match, tuple(chain), tuple(reasons), **extra)


class StickySessions:
    """session id -> the backend that last served it (bounded, least recently used dropped)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._map: OrderedDict[str, str] = OrderedDict()

    def get(self, session: str) -> str | None:
        backend = self._map.get(session)
        if backend is not None:
            self._map.move_to_end(session)
        return backend

    def set(self, session: str, backend: str) -> None:
        self._map[session] = backend
        self._map.move_to_end(session)
        while len(self._map) > self.capacity:
            self._map.popitem(last=False)

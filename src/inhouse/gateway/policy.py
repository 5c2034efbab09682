"""The routing policy (issue 12): which backends a request may go to, and why.

Evaluated for every request before a backend is chosen, in this order; each rule that fires adds
a reason to the route decision (the ledger and ``inhouse routes --explain`` show them):

1. privacy: a private request (the scanner found secrets, marker words or private paths; or the
   scanner failed or timed out) may go to local backends only, or, for findings whose rule says
   ``mode = "redact"``, to the cloud with each finding replaced by a placeholder;
2. explicit client choice: a model name that names a backend (or the ``x-inhouse-backend`` header);
3. capability: ``[[policy.rule]]`` entries that require a stored eval figure of a backend's model
   for a class of requests (with tools, with images, thinking, long prompts, a model name, many turns);
4. context: a local backend whose context the prompt does not fit is skipped;
5. availability: the session's backend first, cooling-down backends last (``router.decide``).

Config (all optional; ``load_config`` checks it and names the line of a bad key)::

    [policy.privacy]                   # the scanner's rules (gateway/privacy.py: PrivacyRules)
    enabled = true                     # default: on when a cloud backend is configured
    markers = ["project-falcon"]
    paths = ["~/work/acme/**"]
    mode = "local"                     # or "redact"
    timeout_s = 2                      # a scan slower than this makes the request private

    [policy.backends.local]            # what the policy knows of a backend
    eval_model = ["smollm2-135m-instruct"]   # the model name(s) its `inhouse eval` runs are stored under
                                       # (a managed backend's runs are found by its GGUF's SHA-256 first)
    ctx = 8192                         # a local server at a url: its context (managed ones: the fitted one)

    [[policy.rule]]
    name = "tools need agentic evals"
    when = { has_tools = true }        # has_tools, has_images, thinking, model (glob), min_prompt_tokens,
                                       # max_prompt_tokens, min_turns, max_turns
    require = { suite = "core", category = "agentic", metric = "pass@1", min = 0.6, bound = "low" }
    backends = ["local"]               # the backends it gates (default: every local backend)

Nothing here does I/O but ``load_eval_figures`` (one read of the store at start and on reload, and
the hash of a managed backend's GGUF when the store has none cached for it).
"""

from __future__ import annotations

import fnmatch
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..errors import ConfigError

BOUNDS = ("rate", "low", "high")
METRICS = ("pass@1",)
WHEN_KEYS = ("has_tools", "has_images", "thinking", "model", "min_prompt_tokens", "max_prompt_tokens",
             "min_turns", "max_turns")
BACKEND_HEADER = "x-inhouse-backend"


# ---- config ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    suite: str
    category: str | None          # None: the run's overall figure
    min: float
    metric: str = "pass@1"
    bound: str = "rate"           # "rate" (the point figure), "low" or "high" end of its 95% interval

    def describe(self) -> str:
        what = f"{self.suite}/{self.category or 'all'} {self.metric}"
        return what + (f" ({self.bound} bound)" if self.bound != "rate" else "")


@dataclass(frozen=True)
class When:
    has_tools: bool | None = None
    has_images: bool | None = None
    thinking: bool | None = None
    model: str | None = None
    min_prompt_tokens: int | None = None
    max_prompt_tokens: int | None = None
    min_turns: int | None = None
    max_turns: int | None = None

    def describe(self) -> str:
        parts = [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in self.__dict__.items()
                 if v is not None]
        return ", ".join(parts) or "every request"


@dataclass(frozen=True)
class Rule:
    name: str
    when: When
    require: Requirement
    backends: tuple[str, ...] | None = None   # None: every local backend


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = ()
    privacy: dict = field(default_factory=dict)     # the scanner's rules, as written
    privacy_enabled: bool = False
    scan_timeout_s: float = 2.0     # [policy.privacy] timeout_s: a scan slower than this is private
    eval_models: dict[str, tuple[str, ...]] = field(default_factory=dict)  # backend -> eval model names
    contexts: dict[str, int] = field(default_factory=dict)                 # backend -> its context


def parse_policy(raw: Any, backends: Sequence[Any], error: Callable[[tuple, str, str], Exception] | None = None
                 ) -> Policy:
    """The ``[policy]`` table -> Policy. ``error(keypath, context, problem)`` makes the exception
    (config.py's makes one naming file and line); without it a plain ConfigError."""
    def fail(keypath: tuple, context: str, problem: str) -> Exception:
        if error is not None:
            return error(("policy", *keypath), context, problem)
        return ConfigError(f"[policy] {context + ': ' if context else ''}{problem}")

    if not isinstance(raw, dict):
        raise fail((), "", "[policy] must be a table")
    names = [b.name for b in backends]
    known = ("privacy", "backends", "rule")
    for key in raw:
        if key not in known:
            raise fail((key,), "[policy]", f"unknown key {key!r}; known keys: {', '.join(known)}")
    privacy = raw.get("privacy", {})
    if not isinstance(privacy, dict):
        raise fail(("privacy",), "", "[policy.privacy] must be a table")
    enabled = privacy.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise fail(("privacy", "enabled"), "[policy.privacy]", f"enabled must be true or false, not {enabled!r}")
    if enabled is None:
        enabled = any(getattr(b, "kind", "local") != "local" for b in backends)
    try:
        from .privacy import PrivacyRules

        rules = PrivacyRules.from_config({k: v for k, v in privacy.items() if k != "enabled"})
    except ConfigError as exc:
        raise fail(("privacy",), "", str(exc)) from None
    except ImportError:  # pragma: no cover - the scanner ships with the gateway
        rules = None
    timeout = getattr(rules, "timeout_s", 2.0)

    eval_models: dict[str, tuple[str, ...]] = {}
    contexts: dict[str, int] = {}
    raw_backends = raw.get("backends", {})
    if not isinstance(raw_backends, dict):
        raise fail(("backends",), "", "[policy.backends] must be a table of backend names")
    for name, table in raw_backends.items():
        context = f"[policy.backends.{name}]"
        if name not in names:
            raise fail(("backends", name), context, f"no backend named {name!r}; backends: {', '.join(names)}")
        if not isinstance(table, dict):
            raise fail(("backends", name), context, "must be a table")
        for key, value in table.items():
            if key == "eval_model":
                values = [value] if isinstance(value, str) else value
                if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
                    raise fail(("backends", name, key), context, f"eval_model must be a model name or a list of "
                                                                 f"them, not {value!r}")
                eval_models[name] = tuple(values)
            elif key == "ctx":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise fail(("backends", name, key), context, f"ctx must be a whole number of tokens >= 1, "
                                                                 f"not {value!r}")
                contexts[name] = value
            else:
                raise fail(("backends", name, key), context, f"unknown key {key!r}; known keys: eval_model, ctx")

    rules = []
    raw_rules = raw.get("rule", [])
    if not isinstance(raw_rules, list):
        raise fail(("rule",), "", "write each rule as [[policy.rule]] (an array of tables)")
    for i, table in enumerate(raw_rules):
        rules.append(_rule(table, i, names, fail))
    return Policy(tuple(rules), privacy, bool(enabled), float(timeout), eval_models, contexts)


def _rule(table: Any, i: int, names: list[str], fail: Callable[..., Exception]) -> Rule:
    keypath = ("rule", i)
    context = f"policy rule #{i + 1}"
    if not isinstance(table, dict):
        raise fail(keypath, context, "must be a table")
    for key in table:
        if key not in ("name", "when", "require", "backends"):
            raise fail(keypath + (key,), context, f"unknown key {key!r}; known keys: name, when, require, backends")
    name = table.get("name", f"rule {i + 1}")
    if not isinstance(name, str) or not name:
        raise fail(keypath + ("name",), context, f"name must be a non-empty string, not {name!r}")
    when_raw = table.get("when", {})
    if not isinstance(when_raw, dict):
        raise fail(keypath + ("when",), context, "when must be a table such as { has_tools = true }")
    when: dict[str, Any] = {}
    for key, value in when_raw.items():
        if key not in WHEN_KEYS:
            raise fail(keypath + ("when",), context, f"when: unknown request class {key!r}; known: "
                                                     f"{', '.join(WHEN_KEYS)}")
        if key in ("has_tools", "has_images", "thinking") and not isinstance(value, bool):
            raise fail(keypath + ("when",), context, f"when.{key} must be true or false, not {value!r}")
        if key == "model" and (not isinstance(value, str) or not value):
            raise fail(keypath + ("when",), context, f"when.model must be a glob such as \"*haiku*\", not {value!r}")
        if key.startswith(("min_", "max_")) and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise fail(keypath + ("when",), context, f"when.{key} must be a whole number >= 0, not {value!r}")
        when[key] = value
    req = table.get("require")
    if not isinstance(req, dict):
        raise fail(keypath + ("require",) if "require" in table else keypath, context,
                   "require is missing: a table such as { suite = \"core\", category = \"agentic\", min = 0.6 }")
    for key in req:
        if key not in ("suite", "category", "metric", "min", "bound"):
            raise fail(keypath + ("require",), context, f"require: unknown key {key!r}; known: suite, category, "
                                                        "metric, min, bound")
    suite, category = req.get("suite"), req.get("category")
    if not isinstance(suite, str) or not suite:
        raise fail(keypath + ("require",), context, f"require.suite must be an eval suite name, not {suite!r}")
    if category is not None and (not isinstance(category, str) or not category):
        raise fail(keypath + ("require",), context, f"require.category must be a category name, not {category!r}")
    metric = req.get("metric", "pass@1")
    if metric not in METRICS:
        raise fail(keypath + ("require",), context, f"require.metric must be one of {', '.join(METRICS)}, "
                                                    f"not {metric!r}")
    low = req.get("min")
    if isinstance(low, bool) or not isinstance(low, (int, float)) or not 0 <= low <= 1:
        raise fail(keypath + ("require",), context, f"require.min must be a share from 0 to 1, not {low!r}")
    bound = req.get("bound", "rate")
    if bound not in BOUNDS:
        raise fail(keypath + ("require",), context, f"require.bound must be one of {', '.join(BOUNDS)}, "
                                                    f"not {bound!r}")
    gated = table.get("backends")
    if gated is not None:
        if not isinstance(gated, list) or not gated or not all(isinstance(b, str) for b in gated):
            raise fail(keypath + ("backends",), context, f"backends must be a list of backend names, not {gated!r}")
        for b in gated:
            if b not in names:
                raise fail(keypath + ("backends",), context, f"names backend {b!r}, which is not configured; "
                                                             f"backends: {', '.join(names)}")
        gated = tuple(gated)
    return Rule(name, When(**when), Requirement(suite, category or None, float(low), metric, bound), gated)


# ---- the request's classes ----------------------------------------------------------------

@dataclass(frozen=True)
class RequestClass:
    has_tools: bool
    has_images: bool
    thinking: bool
    model: str
    turns: int                      # user turns (a user message that only returns tool results is no turn)
    prompt_tokens: int | None = None

    def describe(self) -> str:
        tokens = "?" if self.prompt_tokens is None else str(self.prompt_tokens)
        return (f"tools={'yes' if self.has_tools else 'no'}, images={'yes' if self.has_images else 'no'}, "
                f"thinking={'yes' if self.thinking else 'no'}, turns={self.turns}, prompt tokens={tokens}")


def _blocks(content: Any) -> list[dict]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _has_image(content: Any) -> bool:
    for block in _blocks(content):
        if block.get("type") in ("image", "image_url", "input_image"):
            return True
        if block.get("type") == "tool_result" and _has_image(block.get("content")):
            return True
    return False


def classify(protocol: str, body: Mapping[str, Any], prompt_tokens: int | None = None) -> RequestClass:
    """The classes rules can test, from the parsed request (either protocol)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    tools = body.get("tools")
    has_tools = isinstance(tools, list) and len(tools) > 0
    images = any(_has_image(m.get("content")) for m in messages)
    if protocol == "anthropic":
        thinking_cfg = body.get("thinking")
        thinking = isinstance(thinking_cfg, dict) and thinking_cfg.get("type") in ("enabled", "adaptive")
    else:
        effort = body.get("reasoning_effort")
        kwargs = body.get("chat_template_kwargs")
        thinking = (isinstance(effort, str) and effort not in ("none", "minimal")) or (
            isinstance(kwargs, dict) and kwargs.get("enable_thinking") is True)
    turns = 0
    for m in messages:
        if m.get("role") != "user":
            continue
        blocks = _blocks(m.get("content"))
        if blocks and all(b.get("type") == "tool_result" for b in blocks):
            continue
        turns += 1
    return RequestClass(has_tools, images, bool(thinking), str(body.get("model") or ""), turns, prompt_tokens)


def rule_applies(when: When, rc: RequestClass) -> bool:
    """Whether every class the rule names holds for the request (a token bound with no count: no)."""
    for key in ("has_tools", "has_images", "thinking"):
        want = getattr(when, key)
        if want is not None and want != getattr(rc, key):
            return False
    if when.model is not None and not fnmatch.fnmatchcase(rc.model.lower(), when.model.lower()):
        return False
    if when.min_turns is not None and rc.turns < when.min_turns:
        return False
    if when.max_turns is not None and rc.turns > when.max_turns:
        return False
    if when.min_prompt_tokens is not None or when.max_prompt_tokens is not None:
        if rc.prompt_tokens is None:
            return when.min_prompt_tokens is None  # unknown size: only an upper bound is given the benefit
        if when.min_prompt_tokens is not None and rc.prompt_tokens < when.min_prompt_tokens:
            return False
        if when.max_prompt_tokens is not None and rc.prompt_tokens > when.max_prompt_tokens:
            return False
    return True


# ---- eval figures ---------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalFigure:
    """pass@1 of one stored eval run (one category, or all), with its 95% interval, and how the
    run was matched to the backend: ``matched_by`` "sha256" (the run's GGUF is the backend's file),
    "name" (a run stored without a hash, matched by model name) or "model id" (a server's)."""
    eval_id: str
    model: str
    suite: str
    category: str | None
    created_at: str
    passed: int
    n: int
    rate: float
    low: float
    high: float
    model_sha256: str | None = None
    matched_by: str = "model id"

    def value(self, bound: str) -> float:
        return {"rate": self.rate, "low": self.low, "high": self.high}[bound]

    def identity(self) -> str:
        if self.matched_by == "sha256" and self.model_sha256:
            return f"sha256 {self.model_sha256[:8]}…"
        if self.matched_by == "name":
            return "model name; the run stored no file hash"
        return "server model id"

    def describe(self) -> str:
        return (f"{self.suite}/{self.category or 'all'} pass@1 {self.rate:.2f} (95% CI {self.low:.2f}-{self.high:.2f},"
                f" {self.passed}/{self.n}) from eval run {self.eval_id[:12]} of {self.model} ({self.identity()}) at "
                f"{self.created_at[:19]}")


def latest_figure(conn: Any, models: Sequence[str], suite: str, category: str | None,
                  sha256: str | None = None) -> EvalFigure | None:
    """The figure of the latest eval run for ``suite`` that has scored samples in ``category``
    (any category when None) and is a run of the backend's model; None when there is none.

    ``sha256`` None (a server's backend): runs stored under one of the names ``models``.
    ``sha256`` given (a managed backend's GGUF): runs of that very file, and runs stored without
    a hash (before hashes were stored) under one of ``models``; a run of another file never
    matches, whatever its name. ``""`` (the file could not be hashed): only runs without a hash."""
    from ..evals.stats import pass_rate

    if not models and not sha256:
        return None
    marks = ",".join("?" * len(models))
    by_name = f"model IN ({marks})" if models else "0"
    if sha256 is None:
        who, who_args = by_name, tuple(models)
    else:
        who, who_args = f"(model_sha256 = ? OR (model_sha256 IS NULL AND {by_name}))", (sha256, *models)
    cat_sql, cat_args = ("AND category = ?", (category,)) if category else ("", ())
    row = conn.execute(
        f"""SELECT eval_id, model, MAX(model_sha256), MAX(created_at) AS at FROM eval_results
            WHERE suite = ? AND {who} AND outcome != 'skipped' {cat_sql}
            GROUP BY eval_id ORDER BY at DESC, MAX(id) DESC LIMIT 1""",
        (suite, *who_args, *cat_args)).fetchone()
    if row is None:
        return None
    eval_id, model, digest, at = row[0], row[1], row[2], row[3]
    rows = [{"task_id": r[0], "outcome": r[1]} for r in conn.execute(
        f"SELECT task_id, outcome FROM eval_results WHERE eval_id = ? AND outcome != 'skipped' {cat_sql}",
        (eval_id, *cat_args))]
    r = pass_rate(rows)
    matched = "model id" if sha256 is None else ("sha256" if digest else "name")
    return EvalFigure(eval_id, model, suite, category, at, int(r.passed), int(r.n), r.rate, r.low, r.high,
                      digest, matched)


def load_eval_figures(store: Any, policy: Policy, identities: Mapping[str, Sequence[str]],
                      files: Mapping[str, str] | None = None
                      ) -> dict[tuple[str, str, str | None], EvalFigure | None]:
    """(backend, suite, category) -> its latest figure, for every backend a rule gates.
    ``identities``: backend -> the model names its eval runs may be stored under. ``files``:
    managed backend -> its GGUF path; such a backend is identified by the file's SHA-256 (cached
    in ``store``; hashing an uncached multi-GB file takes seconds) and by name only for runs
    stored without a hash."""
    files = files or {}
    hashes: dict[str, str] = {}
    figures: dict[tuple[str, str, str | None], EvalFigure | None] = {}
    for rule in policy.rules:
        for backend in rule.backends or identities.keys():
            names = list(policy.eval_models.get(backend) or identities.get(backend) or ())
            key = (backend, rule.require.suite, rule.require.category)
            if key in figures:
                continue
            if backend in files and backend not in hashes:
                hashes[backend] = _file_sha256(files[backend], store)
            figures[key] = latest_figure(store.conn, names, rule.require.suite, rule.require.category,
                                         hashes.get(backend))
    return figures


def _file_sha256(path: str, store: Any) -> str:
    """The GGUF's SHA-256, or "" when it cannot be read (then only runs stored without a hash match)."""
    from ..errors import InhouseError
    from ..models.file_hash import file_sha256

    try:
        return file_sha256(path, store)
    except (InhouseError, OSError, sqlite3.Error):  # unreadable file, a busy store: no hash, no match by one
        return ""


# ---- the decision -------------------------------------------------------------------------

@dataclass(frozen=True)
class BackendFacts:
    """What the policy needs to know of one backend."""
    name: str
    local: bool
    ctx: int | None = None              # its context in tokens, when known
    prompt_tokens: int | None = None    # this request's prompt counted with its tokenizer


@dataclass(frozen=True)
class Verdict:
    """The policy's part of a route decision."""
    chain: tuple[str, ...]
    reasons: tuple[str, ...]
    private: bool = False
    redact: bool = False
    refusal: str | None = None          # set when no backend may serve the request
    status: int = 0                     # the HTTP status of a refusal
    findings: tuple[dict, ...] = ()     # {"kind", "rule", "location"}: never a value
    figures: tuple[dict, ...] = ()      # the eval figures the rules used


def finding_dicts(scan: Any) -> tuple[dict, ...]:
    """A scan's findings as kind, rule and location: never the matched text."""
    out = []
    for f in getattr(scan, "findings", None) or ():
        out.append({"kind": str(getattr(f, "kind", "?")), "rule": str(getattr(f, "rule", "?")),
                    "location": str(getattr(f, "location", "?"))})
    return tuple(out)


def evaluate(chain: Sequence[str], backends: Mapping[str, BackendFacts], *, policy: Policy, request: RequestClass,
             scan: Any = None, explicit: str | None = None,
             figures: Mapping[tuple[str, str, str | None], EvalFigure | None] | None = None) -> Verdict:
    """Privacy, explicit choice, capability and context over a route's ``chain`` (availability is
    the router's). ``scan`` is the privacy scanner's ScanResult (None: not scanned)."""
    figures = figures or {}
    reasons: list[str] = []
    chain = [n for n in chain if n in backends]
    local = [n for n, b in backends.items() if b.local]

    # 1. privacy
    private = redact = False
    findings = finding_dicts(scan)
    if scan is not None:
        error = getattr(scan, "error", None)
        if error:
            private = True
            reasons.append(f"privacy: the scan failed ({error}), so the request counts as private")
        elif getattr(scan, "private", False):
            private = True
        if private and findings:
            shown = "; ".join(f"{f['kind']} at {f['location']} (rule {f['rule']})" for f in findings[:20])
            more = f" and {len(findings) - 20} more" if len(findings) > 20 else ""
            reasons.append(f"privacy: {len(findings)} finding(s): {shown}{more}")
        if private and not error and getattr(scan, "mode", "local") == "redact":
            redact = True
            reasons.append("privacy: redact mode: findings are replaced by placeholders before a cloud backend "
                           "sees the request, and restored in the reply")
        elif private:
            kept = [n for n in chain if n in local] or list(local)
            dropped = [n for n in chain if n not in kept]
            if [n for n in chain if n in local] == [] and local:
                reasons.append(f"privacy: the route has no local backend; private requests go to "
                               f"{', '.join(local)}")
            if dropped:
                reasons.append(f"privacy: private, so never sent to {', '.join(dropped)}")
            chain = kept
            if not chain:
                return Verdict((), tuple(reasons), True, False, "the request is private and no local backend is "
                               "configured; it was not sent to the cloud. Add a local backend", 503, findings)
    elif policy.privacy_enabled:
        reasons.append("privacy: not scanned")

    # 2. explicit client choice
    if explicit:
        if explicit not in backends:
            reasons.append(f"client asked for backend {explicit!r}, which is not configured; ignored")
        elif explicit not in chain:
            reasons.append(f"client asked for backend {explicit!r}, but the request is private; not followed")
        else:
            chain = [explicit]
            reasons.append(f"client asked for backend {explicit!r}")

    # 3. capability
    used: list[dict] = []
    for rule in policy.rules:
        if not rule_applies(rule.when, request):
            continue
        gated = [n for n in chain if (n in rule.backends if rule.backends else backends[n].local)]
        for name in gated:
            fig = figures.get((name, rule.require.suite, rule.require.category))
            req = rule.require
            if fig is None:
                ok, why = False, f"no stored eval run of {req.suite}/{req.category or 'all'} for its model"
            else:
                used.append({"backend": name, "rule": rule.name, **fig.__dict__})
                value = fig.value(req.bound)
                ok = value >= req.min
                why = f"{req.describe()} {value:.2f} {'>=' if ok else '<'} {req.min:g}: {fig.describe()}"
            prefix = f"capability: rule {rule.name!r} ({rule.when.describe()}) for {name}: "
            if ok:
                reasons.append(prefix + why + "; allowed")
            elif private and not redact:
                reasons.append(prefix + why + "; not met, but the request is private and may only run locally")
            else:
                chain = [n for n in chain if n != name]
                reasons.append(prefix + why + "; not met, so not sent there")

    # 4. context
    for name in list(chain):
        facts = backends[name]
        if facts.local and facts.ctx and facts.prompt_tokens is not None and facts.prompt_tokens > facts.ctx:
            chain = [n for n in chain if n != name]
            reasons.append(f"context: the prompt has {facts.prompt_tokens} tokens, over {name}'s context of "
                           f"{facts.ctx}; skipped")
    if not chain:
        over = [b for b in backends.values() if b.local and b.ctx and b.prompt_tokens and b.prompt_tokens > b.ctx]
        if private and not redact and over:
            b = over[0]
            msg = (f"the request is private and its prompt of {b.prompt_tokens} tokens does not fit the "
                   f"{b.ctx}-token context of local backend {b.name}; it was not sent to the cloud. Shorten the "
                   f"conversation or give the local backend a larger ctx")
            return Verdict((), tuple(reasons), private, redact, msg, 400, findings, tuple(used))
        if over:
            b = over[0]
            return Verdict((), tuple(reasons), private, redact,
                           f"the prompt has {b.prompt_tokens} tokens, over the {b.ctx}-token context of "
                           f"{b.name}, and no other backend may take it", 400, findings, tuple(used))
        return Verdict((), tuple(reasons), private, redact, "no backend of the route meets the policy: "
                       + "; ".join(r for r in reasons if r.startswith("capability")), 503, findings, tuple(used))
    return Verdict(tuple(chain), tuple(reasons), private, redact, None, 0, findings, tuple(used))

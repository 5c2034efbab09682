"""The routing policy, pure: config checks, request classes, privacy fail-closed, explicit choice,
capability from eval runs stored in a real store (above, below, none), context limits."""

from __future__ import annotations

import asyncio
import time

import pytest

from inhouse.errors import ConfigError
from inhouse.gateway.config import RouteConfig, parse_config
from inhouse.gateway.policy import (BackendFacts, Policy, RequestClass, Requirement, Rule, When, classify, evaluate,
                                    load_eval_figures, parse_policy)
from inhouse.gateway.privacy import Finding, ScanResult
from inhouse.gateway.router import ParsedRequest, PolicyInput, decide
from inhouse.gateway.scanning import ScanFailure, make_scanner, scan_request
from inhouse.store import Store

BACKENDS = {"local": BackendFacts("local", True, 4096), "cloud": BackendFacts("cloud", False)}
PLAIN = RequestClass(False, False, False, "claude-x", 1)
TOOLS = RequestClass(True, False, False, "claude-x", 3)
SECRET = ScanResult(True, [Finding("github-token", "GitHubTokenDetector", "messages[0].content", 4, 44)], "local")
REDACT = ScanResult(True, [Finding("marker", "privacy", "messages[0].content", 0, 8, mode="redact")], "redact")
CLEAN = ScanResult(False, [], None)


def _base(text: str) -> str:
    return ('[[backend]]\nname = "local"\nkind = "local"\nurl = "http://127.0.0.1:1"\n'
            '[[backend]]\nname = "cloud"\nkind = "anthropic"\n' + text)


@pytest.mark.parametrize("text, message", [
    ('[policy]\nfoo = 1\n', "config.toml:9: [policy]: unknown key 'foo'"),
    ('[[policy.rule]]\nwhen = { has_tools = "yes" }\nrequire = { suite = "core", min = 0.5 }\n',
     "config.toml:9: policy rule #1: when.has_tools must be true or false"),
    ('[[policy.rule]]\nrequire = { suite = "core", min = 1.5 }\n', "require.min must be a share from 0 to 1"),
    ('[[policy.rule]]\nwhen = { has_tools = true }\n', "require is missing"),
    ('[[policy.rule]]\nrequire = { suite = "core", min = 0.5 }\nbackends = ["gpu"]\n', "names backend 'gpu'"),
    ('[policy.backends.nope]\nctx = 10\n', "config.toml:8: [policy.backends.nope]: no backend named 'nope'"),
    ('[policy.privacy]\npatterns = ["x"]\nmode = "maybe"\n', 'config.toml:8: [policy.privacy]: mode must be "local" or "redact"'),
])
def test_bad_policy_config_names_the_line(text, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(_base(text))
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_policy_config_values():
    c = parse_config(_base(
        '[policy.backends.local]\neval_model = "smollm2"\nctx = 2048\n'
        '[[policy.rule]]\nname = "tools"\nwhen = { has_tools = true, min_turns = 2 }\n'
        'require = { suite = "core", category = "agentic", min = 0.6, bound = "low" }\n'))
    p = parse_policy(c.policy, c.backends)
    assert p.privacy_enabled  # a cloud backend: scanning is on by default
    assert p.eval_models == {"local": ("smollm2",)} and p.contexts == {"local": 2048}
    assert p.rules == (Rule("tools", When(has_tools=True, min_turns=2),
                            Requirement("core", "agentic", 0.6, "pass@1", "low"), None),)
    assert not parse_policy({}, [c.backends[0]]).privacy_enabled  # local only: nothing to protect


def test_request_classes_in_both_protocols():
    oa = {"model": "gpt-4o", "tools": [{"type": "function", "function": {"name": "f"}}], "reasoning_effort": "high",
          "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:"}}]},
                       {"role": "assistant", "content": "x"}, {"role": "tool", "content": "r"},
                       {"role": "user", "content": "again"}]}
    assert classify("openai", oa, 99) == RequestClass(True, True, True, "gpt-4o", 2, 99)
    an = {"model": "claude-haiku", "thinking": {"type": "enabled", "budget_tokens": 1024},
          "messages": [{"role": "user", "content": "go"},
                       {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                                     "content": [{"type": "image", "source": {}}]}]}]}
    assert classify("anthropic", an) == RequestClass(False, True, True, "claude-haiku", 1, None)
    assert classify("anthropic", {"model": "m", "messages": []}) == RequestClass(False, False, False, "m", 0)


def test_private_goes_local_only_and_says_why_without_the_value():
    v = evaluate(["cloud", "local"], BACKENDS, policy=Policy(), request=PLAIN, scan=SECRET)
    assert v.chain == ("local",) and v.private and not v.redact and v.refusal is None
    text = " ".join(v.reasons)
    assert "github-token at messages[0].content" in text and "never sent to cloud" in text
    assert v.findings == ({"kind": "github-token", "rule": "GitHubTokenDetector", "location": "messages[0].content"},)
    # a route without a local backend still keeps a private request local
    assert evaluate(["cloud"], BACKENDS, policy=Policy(), request=PLAIN, scan=SECRET).chain == ("local",)
    # no local backend at all: refused, never the cloud
    only_cloud = {"cloud": BACKENDS["cloud"]}
    r = evaluate(["cloud"], only_cloud, policy=Policy(), request=PLAIN, scan=SECRET)
    assert r.chain == () and r.status == 503 and "not sent to the cloud" in r.refusal
    assert evaluate(["cloud", "local"], BACKENDS, policy=Policy(), request=PLAIN, scan=CLEAN).chain == ("cloud", "local")


def test_redact_mode_keeps_the_cloud():
    v = evaluate(["cloud", "local"], BACKENDS, policy=Policy(), request=PLAIN, scan=REDACT)
    assert v.chain == ("cloud", "local") and v.private and v.redact


def test_scanner_failure_or_timeout_is_private():
    class Raises:
        def scan_request(self, protocol, body):
            raise RuntimeError("rule exploded")

    class Slow:
        def scan_request(self, protocol, body):
            time.sleep(0.5)
            return CLEAN

    failed = asyncio.run(scan_request(Raises(), "openai", {}, 1.0))
    slow = asyncio.run(scan_request(Slow(), "openai", {}, 0.05))
    for scan in (failed, slow):
        assert isinstance(scan, ScanFailure) and scan.private
        v = evaluate(["cloud", "local"], BACKENDS, policy=Policy(), request=PLAIN, scan=scan)
        assert v.chain == ("local",) and "scan failed" in v.reasons[0]
    assert "rule exploded" in failed.error and "longer than" in slow.error
    # a rule the scanner cannot be made from: every scan fails, so every request is private
    broken = make_scanner(Policy(), factory=lambda rules: (_ for _ in ()).throw(ValueError("bad")))
    assert asyncio.run(scan_request(broken, "openai", {}, 1.0)).private


def test_explicit_choice_follows_the_client_unless_private():
    v = evaluate(["cloud", "local"], BACKENDS, policy=Policy(), request=PLAIN, scan=CLEAN, explicit="cloud")
    assert v.chain == ("cloud",) and "client asked for backend 'cloud'" in v.reasons[-1]
    p = evaluate(["cloud", "local"], BACKENDS, policy=Policy(), request=PLAIN, scan=SECRET, explicit="cloud")
    assert p.chain == ("local",) and "not followed" in p.reasons[-1]


def _store_with_runs(tmp_path, runs):
    """``runs``: (eval_id, model, outcomes) or (eval_id, model, outcomes, the GGUF's sha256)."""
    store = Store.open(tmp_path / "inhouse.db")
    for eval_id, model, outcomes, *sha in runs:
        file = {"model_sha256": sha[0]} if sha else {}
        for i, outcome in enumerate(outcomes):
            store.save_eval_result(eval_id, {"model": model, "suite": "core", "task_id": f"t{i}",
                                             "category": "agentic", "sample": 0, "outcome": outcome, **file})
            store.save_eval_result(eval_id, {"model": model, "suite": "core", "task_id": f"s{i}",
                                             "category": "synthesis", "sample": 0, "outcome": "failed", **file})
    return store


RULE = Rule("tools need agentic", When(has_tools=True), Requirement("core", "agentic", 0.6, bound="rate"))


@pytest.mark.parametrize("outcomes, allowed", [
    (["passed"] * 8 + ["failed"] * 2, True),      # 0.80 >= 0.6
    (["passed"] * 4 + ["failed"] * 6, False),     # 0.40 < 0.6
    (None, False),                                # no stored run
])
def test_capability_rule_routes_local_only_when_the_stored_run_meets_it(tmp_path, outcomes, allowed):
    runs = [("old", "smollm2", ["failed"] * 10)] + ([("new", "smollm2", outcomes)] if outcomes else []) \
        + [("other", "another-model", ["passed"] * 10)]
    if outcomes is None:
        runs = runs[2:]
    store = _store_with_runs(tmp_path, runs)
    policy = Policy(rules=(RULE,), eval_models={"local": ("smollm2",)})
    figures = load_eval_figures(store, policy, {"local": ["smollm2"], "cloud": []})
    fig = figures[("local", "core", "agentic")]
    if outcomes is None:
        assert fig is None
    else:
        assert fig.eval_id == "new" and fig.n == 10 and fig.rate == outcomes.count("passed") / 10  # latest run
    v = evaluate(["local", "cloud"], BACKENDS, policy=policy, request=TOOLS, scan=CLEAN, figures=figures)
    assert v.chain == (("local", "cloud") if allowed else ("cloud",))
    reason = next(r for r in v.reasons if r.startswith("capability"))
    if outcomes is None:
        assert "no stored eval run of core/agentic" in reason
    else:
        assert f"pass@1 {fig.rate:.2f} {'>=' if allowed else '<'} 0.6" in reason and "eval run new" in reason
    # a request without tools is not gated by the rule
    assert evaluate(["local", "cloud"], BACKENDS, policy=policy, request=PLAIN, figures=figures).chain == \
        ("local", "cloud")
    store.close()


def test_capability_on_the_interval_bound(tmp_path):
    store = _store_with_runs(tmp_path, [("r", "smollm2", ["passed"] * 7 + ["failed"] * 3)])
    low = Rule("low", When(), Requirement("core", "agentic", 0.6, bound="low"))
    policy = Policy(rules=(low,), eval_models={"local": ("smollm2",)})
    figures = load_eval_figures(store, policy, {"local": []})
    fig = figures[("local", "core", "agentic")]
    assert fig.rate == 0.7 and fig.low < 0.6  # 7/10: Wilson's lower bound is about 0.40
    assert evaluate(["local", "cloud"], BACKENDS, policy=policy, request=PLAIN, figures=figures).chain == ("cloud",)
    store.close()


def _gguf(path, content: bytes):
    import hashlib

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path), hashlib.sha256(content).hexdigest()


def test_a_managed_backend_keeps_its_figure_when_its_gguf_is_copied_or_renamed(tmp_path, monkeypatch):
    from inhouse.models import file_hash

    monkeypatch.setattr(file_hash, "RACY_WINDOW_NS", 0)
    hashed = []
    real = file_hash._hash
    monkeypatch.setattr(file_hash, "_hash", lambda path: hashed.append(path) or real(path))
    _, digest = _gguf(tmp_path / "models" / "smollm2.gguf", b"GGUF weights")
    copy, _ = _gguf(tmp_path / "elsewhere" / "my-model-v2.gguf", b"GGUF weights")  # same content, new name
    store = _store_with_runs(tmp_path, [("r1", "smollm2", ["passed"] * 9 + ["failed"], digest)])
    policy = Policy(rules=(RULE,))
    figures = load_eval_figures(store, policy, {"local": ["my-model-v2"]}, files={"local": copy})
    fig = figures[("local", "core", "agentic")]
    assert fig.eval_id == "r1" and fig.model_sha256 == digest and fig.matched_by == "sha256"
    v = evaluate(["local", "cloud"], BACKENDS, policy=policy, request=TOOLS, scan=CLEAN, figures=figures)
    reason = next(r for r in v.reasons if r.startswith("capability"))
    assert v.chain == ("local", "cloud") and f"of smollm2 (sha256 {digest[:8]}…)" in reason
    # the hash is cached: a reload reads the store, not the file
    assert load_eval_figures(store, policy, {"local": ["my-model-v2"]}, files={"local": copy}) == figures
    assert len(hashed) == 1
    store.close()


def test_another_file_with_an_evaluated_name_does_not_inherit_its_figure(tmp_path):
    _, evaluated = _gguf(tmp_path / "a" / "smollm2.gguf", b"GGUF good weights")
    other, _ = _gguf(tmp_path / "b" / "smollm2.gguf", b"GGUF other weights")  # same name, another model
    store = _store_with_runs(tmp_path, [("good", "smollm2", ["passed"] * 10, evaluated)])
    policy = Policy(rules=(RULE,), eval_models={"local": ("smollm2",)})
    figures = load_eval_figures(store, policy, {"local": ["smollm2"]}, files={"local": other})
    assert figures[("local", "core", "agentic")] is None
    v = evaluate(["local", "cloud"], BACKENDS, policy=policy, request=TOOLS, scan=CLEAN, figures=figures)
    assert v.chain == ("cloud",) and "no stored eval run of core/agentic" in v.reasons[-1]
    # a backend with no file (a server's model id) still matches by name, as before
    remote = load_eval_figures(store, policy, {"local": ["smollm2"]})[("local", "core", "agentic")]
    assert remote.eval_id == "good" and remote.matched_by == "model id" and "(server model id)" in remote.describe()
    store.close()


def test_runs_stored_without_a_hash_still_match_a_managed_backend_by_name(tmp_path):
    path, digest = _gguf(tmp_path / "smollm2.gguf", b"GGUF weights")
    _, another = _gguf(tmp_path / "x" / "smollm2.gguf", b"GGUF another")
    store = _store_with_runs(tmp_path, [("legacy", "smollm2", ["passed"] * 8 + ["failed"] * 2),
                                        ("newer-other-file", "smollm2", ["failed"] * 10, another)])
    policy = Policy(rules=(RULE,))
    figures = load_eval_figures(store, policy, {"local": ["smollm2"]}, files={"local": path})
    fig = figures[("local", "core", "agentic")]
    assert fig.eval_id == "legacy" and fig.matched_by == "name" and fig.model_sha256 is None  # not the other file's
    assert "(model name; the run stored no file hash)" in fig.describe()
    # once the file itself is evaluated, that run is the latest match
    store.close()
    store = _store_with_runs(tmp_path, [("own", "renamed", ["passed"] * 10, digest)])
    fig = load_eval_figures(store, policy, {"local": ["smollm2"]}, files={"local": path})[("local", "core", "agentic")]
    assert fig.eval_id == "own" and fig.matched_by == "sha256"
    # an unreadable file: only runs without a hash can match
    gone = str(tmp_path / "gone.gguf")
    fig = load_eval_figures(store, policy, {"local": ["smollm2"]}, files={"local": gone})[("local", "core", "agentic")]
    assert fig.eval_id == "legacy"
    store.close()


def test_the_gateway_identifies_its_managed_backends_by_file(tmp_path):
    from inhouse.gateway.app import Gateway

    path, digest = _gguf(tmp_path / "served-as-another-name.gguf", b"GGUF weights")
    store = _store_with_runs(tmp_path, [("r1", "smollm2", ["passed"] * 10, digest)])
    config = parse_config(_base('[policy.privacy]\nenabled = false\n[[policy.rule]]\nwhen = { has_tools = true }\n'
                                'require = { suite = "core", category = "agentic", min = 0.6 }\n'))
    gateway = Gateway(config, local_paths={"local": path}, store=store)
    fig = gateway.figures[("local", "core", "agentic")]
    assert fig.eval_id == "r1" and fig.matched_by == "sha256"
    assert Gateway(config, store=store).figures[("local", "core", "agentic")] is None  # by name: no run
    store.close()


def test_context_skips_a_local_backend_the_prompt_does_not_fit():
    big = {"local": BackendFacts("local", True, 4096, 5000), "cloud": BackendFacts("cloud", False)}
    v = evaluate(["local", "cloud"], big, policy=Policy(), request=PLAIN, scan=CLEAN)
    assert v.chain == ("cloud",) and "5000 tokens, over local's context of 4096" in v.reasons[-1]
    only = evaluate(["local"], big, policy=Policy(), request=PLAIN, scan=CLEAN)
    assert only.status == 400 and "5000 tokens" in only.refusal and "4096" in only.refusal
    private = evaluate(["local", "cloud"], big, policy=Policy(), request=PLAIN, scan=SECRET)
    assert private.status == 400 and "private" in private.refusal and "5000" in private.refusal \
        and "4096" in private.refusal


def test_decide_runs_the_policy_then_availability():
    routes = [RouteConfig("*", ("cloud", "local"))]
    parsed = ParsedRequest("anthropic", "claude-x", {"model": "claude-x", "messages": []}, "s")
    pin = PolicyInput(Policy(), BACKENDS, PLAIN, SECRET)
    assert decide(parsed, routes, available={"local": True, "cloud": True}, policy=pin).chain == ("local",)
    down = decide(parsed, routes, available={"local": False, "cloud": True}, policy=pin)
    assert down.chain == () and down.status == 503 and "no local backend is up" in down.refusal
    clean = decide(parsed, routes, available={"local": False, "cloud": True},
                   policy=PolicyInput(Policy(), BACKENDS, PLAIN, CLEAN))
    assert clean.chain == ("cloud", "local")

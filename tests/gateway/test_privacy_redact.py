"""Redaction: placeholders out, values restored, streaming split at every point."""

from __future__ import annotations

import json

import pytest

from inhouse.gateway.privacy import PrivacyRules, Scanner, redact_request
from inhouse.gateway.redact import RedactionError, Restorer

from .privacy_corpus import RULES, planted_cases

REDACT = {**RULES, "mode": "redact", "secrets_mode": "redact"}


def test_redacted_bodies_hold_no_planted_value_and_restore_exactly():
    sc = Scanner(PrivacyRules.from_config(REDACT, ))
    for case in planted_cases():
        result = sc.scan_request(case.protocol, case.body)
        assert result.mode == "redact", case.id
        body, restorer = redact_request(case.protocol, case.body, result)
        assert case.value not in json.dumps(body, ensure_ascii=False), case.id
        assert restorer.restore_json(body) == case.body, case.id


def test_same_value_same_placeholder():
    sc = Scanner(PrivacyRules.from_config({"markers": ["Bluebird"], "mode": "redact"}))
    body = {"messages": [{"role": "user", "content": "Bluebird and bluebird and Bluebird"}]}
    red, restorer = redact_request("openai", body, sc.scan_request("openai", body))
    assert red["messages"][0]["content"] == "⟦secret-1⟧ and ⟦secret-2⟧ and ⟦secret-1⟧"
    assert restorer.restore("got ⟦secret-2⟧, ⟦secret-1⟧, ⟦secret-9⟧") == "got bluebird, Bluebird, ⟦secret-9⟧"


REPLY = "use ⟦secret-1⟧ then ⟦secret-12⟧; a ⟦ bracket, ⟦secret-x and ⟦secret-1⟧⟦secret-12⟧."
MAPPING = {"⟦secret-1⟧": "AKIAZ3MSJV7Q4XYZW2PL", "⟦secret-12⟧": "pa⟦ss"}


def test_stream_restore_every_single_split():
    want = Restorer(MAPPING).restore(REPLY)
    assert "AKIAZ3MSJV7Q4XYZW2PL" in want and "⟦secret-x" in want
    for i in range(len(REPLY) + 1):
        r = Restorer(MAPPING)
        assert r.feed(REPLY[:i]) + r.feed(REPLY[i:]) + r.finish() == want, i


def test_stream_restore_every_pair_of_splits_and_char_by_char():
    want = Restorer(MAPPING).restore(REPLY)
    n = len(REPLY)
    for i in range(n + 1):
        for j in range(i, n + 1):
            r = Restorer(MAPPING).stream()
            assert r.feed(REPLY[:i]) + r.feed(REPLY[i:j]) + r.feed(REPLY[j:]) + r.finish() == want, (i, j)
    r = Restorer(MAPPING)
    assert "".join(r.feed(ch) for ch in REPLY) + r.finish() == want


def test_stream_holds_back_only_a_possible_placeholder():
    r = Restorer(MAPPING)
    assert r.feed("abc ⟦secr") == "abc "
    assert r.feed("et-1⟧ done") == "AKIAZ3MSJV7Q4XYZW2PL done"
    assert r.feed("⟦not") == "⟦not"


def test_failed_scan_and_key_findings_refuse_redaction():
    sc = Scanner(PrivacyRules.from_config({"markers": ["Bluebird"], "mode": "redact"}))
    body = {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f",
                                                            "input": {"Bluebird": 1}}]}]}
    with pytest.raises(RedactionError, match="local"):
        redact_request("anthropic", body, sc.scan_request("anthropic", body))
    failed = Scanner(PrivacyRules(timeout_s=1e-9)).scan_request("openai", {"messages": [{"role": "user", "content": "x"}]})
    with pytest.raises(RedactionError, match="local"):
        redact_request("openai", {"messages": []}, failed)

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


# ---- values inside tool-call arguments: the text restored is JSON source --------------------

SECRET = 'pa"ss\\word\nline two\t\x07'
JSON_MAPPING = {"⟦secret-1⟧": SECRET, "⟦secret-2⟧": "plain"}
ARGS = '{"password": "⟦secret-1⟧", "note": "⟦secret-2⟧ and ⟦secret-1⟧", "n": 1}'
WANT = {"password": SECRET, "note": f"plain and {SECRET}", "n": 1}


def test_json_stream_restore_escapes_values_at_every_split():
    assert json.loads(Restorer(JSON_MAPPING).restore(ARGS, json_string=True)) == WANT
    for i in range(len(ARGS) + 1):
        r = Restorer(JSON_MAPPING).stream(json_string=True)
        assert json.loads(r.feed(ARGS[:i]) + r.feed(ARGS[i:]) + r.finish()) == WANT, i
    r = Restorer(JSON_MAPPING)
    assert r.feed("got ⟦secret-1⟧") + r.finish() == "got " + SECRET  # plain text: the value as it is


def _sse_events(raw: bytes) -> list[tuple[str | None, dict]]:
    out = []
    for block in raw.decode().split("\n\n"):
        event, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and line != "data: [DONE]":
                data = json.loads(line[6:])
        if data is not None:
            out.append((event, data))
    return out


def _openai_stream(text: str, args: str) -> bytes:
    def chunk(delta, finish=None):
        return b"data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish}]}).encode() + b"\n\n"
    start = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "login", "arguments": ""}}
    return b"".join([chunk({"role": "assistant", "content": ""})]
                    + [chunk({"content": text[i:i + 4]}) for i in range(0, len(text), 4)]
                    + [chunk({"tool_calls": [start]})]
                    + [chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i:i + 5]}}]})
                       for i in range(0, len(args), 5)]
                    + [chunk({}, "tool_calls"), b"data: [DONE]\n\n"])


def _anthropic_stream(text: str, args: str) -> bytes:
    def ev(name, data):
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

    def delta(index, d):
        return ev("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
    return b"".join(
        [ev("message_start", {"type": "message_start", "message": {"id": "m", "content": []}}),
         ev("content_block_start", {"type": "content_block_start", "index": 0,
                                    "content_block": {"type": "thinking", "thinking": ""}})]
        + [delta(0, {"type": "thinking_delta", "thinking": text[i:i + 4]}) for i in range(0, len(text), 4)]
        + [ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
           ev("content_block_start", {"type": "content_block_start", "index": 1,
                                      "content_block": {"type": "text", "text": ""}})]
        + [delta(1, {"type": "text_delta", "text": text[i:i + 4]}) for i in range(0, len(text), 4)]
        + [ev("content_block_stop", {"type": "content_block_stop", "index": 1}),
           ev("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
               "type": "tool_use", "id": "t", "name": "login", "input": {}}})]
        + [delta(2, {"type": "input_json_delta", "partial_json": args[i:i + 5]}) for i in range(0, len(args), 5)]
        + [ev("content_block_stop", {"type": "content_block_stop", "index": 2}),
           ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}}),
           ev("message_stop", {"type": "message_stop"})])


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_streamed_tool_arguments_get_escaped_values_and_text_the_raw_ones(protocol):
    """Placeholders split across deltas (4- and 5-character pieces), the SSE bytes split anywhere."""
    from inhouse.gateway.scanning import StreamRestore

    text = "use ⟦secret-1⟧ now"
    raw = (_openai_stream if protocol == "openai" else _anthropic_stream)(text, ARGS)
    for size in (1, 7, 64, len(raw)):
        sr = StreamRestore(protocol, Restorer(JSON_MAPPING))
        events = _sse_events(b"".join(sr.feed(raw[i:i + size]) for i in range(0, len(raw), size)))
        texts: dict[str, str] = {}
        for _, d in events:
            if protocol == "openai":
                for c in d.get("choices") or []:
                    delta = c.get("delta") or {}
                    texts["content"] = texts.get("content", "") + (delta.get("content") or "")
                    for call in delta.get("tool_calls") or []:
                        texts["args"] = texts.get("args", "") + ((call.get("function") or {}).get("arguments") or "")
            elif d.get("type") == "content_block_delta":
                field = {"thinking_delta": "thinking", "text_delta": "text", "input_json_delta": "partial_json"}
                key = d["delta"]["type"]
                texts[key] = texts.get(key, "") + d["delta"][field[key]]
        plain = [texts["content"]] if protocol == "openai" else [texts["thinking_delta"], texts["text_delta"]]
        args = texts["args"] if protocol == "openai" else texts["input_json_delta"]
        assert plain == [f"use {SECRET} now"] * len(plain), size
        assert json.loads(args) == WANT and json.loads(args)["password"] == SECRET, size


def test_whole_replies_restore_tool_arguments_as_valid_json():
    from inhouse.gateway.scanning import restore_json

    r = Restorer(JSON_MAPPING)
    openai = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "use ⟦secret-1⟧", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "login", "arguments": ARGS}}]}}]}
    out = restore_json(openai, r)["choices"][0]["message"]
    assert out["content"] == "use " + SECRET
    assert json.loads(out["tool_calls"][0]["function"]["arguments"]) == WANT
    # Anthropic's tool_use input is already an object: its strings get the values as they are
    anthropic = {"content": [{"type": "text", "text": "use ⟦secret-1⟧"},
                             {"type": "tool_use", "id": "t", "name": "login", "input": json.loads(ARGS)}]}
    out = restore_json(anthropic, r)["content"]
    assert out[0]["text"] == "use " + SECRET and out[1]["input"] == WANT
    # arguments cut short (max_tokens) do not parse: still JSON source, so the value goes in escaped
    cut = ARGS[:-len('", "n": 1}')]
    restored = restore_json({"function": {"arguments": cut}}, r)["function"]["arguments"]
    assert json.loads(restored + '", "n": 1}') == WANT


def test_placeholders_written_as_json_escapes_in_arguments_are_restored_across_any_split():
    """A backend (or model) writing ASCII-only JSON sends ``\\u27e6secret-1\\u27e7`` inside tool
    arguments; split anywhere across three deltas it still comes back as the escaped original.
    Plain text is not JSON: an escape-like sequence there is left as it is."""
    import json as _json

    from inhouse.gateway.redact import Restorer

    r = Restorer({"⟦secret-1⟧": 'a"b\\c\nd', "⟦secret-12⟧": "XY"})
    src = '{"text": "pre \\u27e6secret-1\\u27e7 mid ⟦secret-12⟧ \\u27E6secret-12\\u27E7 end \\\\ \\n"}'
    want = 'pre a"b\\c\nd mid XY XY end \\ \n'
    for cut in range(1, len(src)):
        for cut2 in range(cut, len(src), 3):
            stream = r.stream(json_string=True)
            out = stream.feed(src[:cut]) + stream.feed(src[cut:cut2]) + stream.feed(src[cut2:]) + stream.finish()
            assert _json.loads(out)["text"] == want, (cut, cut2, out)
    assert r.restore("plain \\u27e6secret-1\\u27e7") == "plain \\u27e6secret-1\\u27e7"

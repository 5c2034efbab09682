"""SSE writing and incremental parsing, checked against the anthropic SDK's own SSE decoder."""

from __future__ import annotations

import json
import random

import pytest
from anthropic._streaming import SSEDecoder

from inhouse.errors import ProtocolError
from inhouse.gateway.sse import SSEParser, format_sse

STREAM = (
    b"\xef\xbb\xbf: a comment\r\n"
    b"event: message_start\r\ndata: {\"a\": 1}\r\n\r\n"
    b"event: ping\ndata:\n\n"
    b"data: line one\ndata:line two\rdata:  indented\r\n\n"
    b"id: 42\nretry: 1500\nevent: x\n\n"  # no data: not dispatched
    b"event: caf\xc3\xa9\ndata: \xe2\x82\xac \xf0\x9f\x98\x80\n\n"
    b"data: [DONE]\n\n"
    b"data: unfinished"
)

EXPECTED = [
    ("message_start", '{"a": 1}'),
    ("ping", ""),
    (None, "line one\nline two\n indented"),
    ("café", "€ 😀"),
    (None, "[DONE]"),
]


def test_parser_handles_crlf_cr_comments_multiline_data_bom_and_utf8():
    parser = SSEParser()
    assert parser.feed(STREAM) == EXPECTED
    assert (parser.last_id, parser.retry) == ("42", 1500)


def test_every_split_of_the_stream_gives_the_same_events():
    rng = random.Random(11)
    for _ in range(300):
        parser = SSEParser()
        cuts = sorted(rng.sample(range(1, len(STREAM)), rng.randint(1, 40)))
        events = []
        for start, end in zip([0] + cuts, cuts + [len(STREAM)]):
            events += parser.feed(STREAM[start:end])
        assert events == EXPECTED
    byte_by_byte = SSEParser()
    assert [e for i in range(len(STREAM)) for e in byte_by_byte.feed(STREAM[i:i + 1])] == EXPECTED


def test_cr_then_lf_in_the_next_piece_is_one_line_break():
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r") == [(None, "a")]  # \r\n ends the data line; the lone \r ends the event
    assert parser.feed(b"\ndata: b\n") == []  # this \n belongs to that \r: no second empty line
    assert parser.feed(b"\n") == [(None, "b")]


def test_parser_agrees_with_the_anthropic_sdk_decoder():
    # The SDK does not strip a BOM, and it dispatches an event that has no data line (the spec
    # says not to); the stream without those two cases must give the same events.
    body = STREAM.removeprefix(b"\xef\xbb\xbf").replace(b"id: 42\nretry: 1500\nevent: x\n\n", b"")
    sdk = [(e.event, e.data) for e in SSEDecoder().iter_bytes(iter([body]))]
    assert SSEParser().feed(body) == sdk


@pytest.mark.parametrize("event, data", [
    ("content_block_delta", {"type": "content_block_delta", "delta": {"text": "a\nb \u2028 é"}}),
    (None, {"choices": []}),
    ("error", "two\nlines\r\nthree"),
    (None, "[DONE]"),
])
def test_format_then_parse_round_trips(event, data):
    raw = format_sse(event, data)
    assert raw.endswith(b"\n\n")
    expected = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    expected = expected.replace("\r\n", "\n")
    assert SSEParser().feed(raw) == [(event, expected)]
    assert [(e.event, e.data) for e in SSEDecoder().iter_bytes(iter([raw]))] == [(event, expected)]


def test_format_refuses_an_event_name_with_a_line_break():
    with pytest.raises(ProtocolError):
        format_sse("a\nb", "x")


def test_an_endless_line_is_refused_rather_than_buffered_forever():
    parser = SSEParser(max_line_bytes=1000)
    parser.feed(b"data: " + b"x" * 900)
    with pytest.raises(ProtocolError):
        parser.feed(b"x" * 200)

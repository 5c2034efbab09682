"""A small real backend for gateway tests: ``python -m tests.gateway.fake_backend PORT``.

What it does depends on the model name in the request body, so one process covers every case:
``ok`` answers (OpenAI at /v1/chat/completions, Anthropic at /v1/messages; streaming or not),
``m429`` answers 429 with ``Retry-After: 30``, ``m500`` answers 500, ``stall`` never answers,
``die`` streams two chunks and then kills this whole process (a backend dying mid-stream),
``echo`` answers with the text of the last user message (streamed 3 characters a chunk).
With ``FAKE_RECORD=FILE`` in its environment it appends every request body it receives to FILE,
one JSON line each: the recording cloud backend of the privacy tests.
``toolcall-text`` answers (OpenAI protocol) with a tool call written as text, the way small local
models do (``<tool_call>{...}</tool_call>``), streamed in 7-character pieces.
``echo-tool`` answers (either protocol) with one tool call ``record`` whose arguments are
``{"text": <the last user message>}``, streamed as 3-character pieces of the arguments' JSON.
``slow`` streams (OpenAI) a chunk every 0.1 s for a minute; when its client hangs up it appends
``slow: client closed after N chunks`` to the file named by ``FAKE_EVENTS``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = ["fake ", "reply ", "from ", "ok"]
TOOL_TEXT = ('Let me check. <tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._json(200, {"object": "list", "data": [{"id": "ok", "object": "model"}]})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if os.environ.get("FAKE_RECORD"):
            with _record_lock, open(os.environ["FAKE_RECORD"], "ab") as fh:
                fh.write(json.dumps({"path": self.path, "body": raw.decode("utf-8", "replace")}).encode() + b"\n")
        body = json.loads(raw or b"{}")
        model = body.get("model")
        reply = _echo(body) if model == "echo" else REPLY
        anthropic = self.path.endswith("/messages")
        if model == "m429":
            return self._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "30"})
        if model == "m500":
            return self._json(500, {"error": {"message": "boom"}})
        if model == "stall":
            time.sleep(60)
            return
        if model == "slow":
            return self._slow()
        if model == "bad":
            return self._json(400, {"error": {"message": "the fake backend refuses this request"}})
        if model == "toolcall-text":
            reply = [TOOL_TEXT[i:i + 7] for i in range(0, len(TOOL_TEXT), 7)]
        if model == "echo-tool":
            args = {"text": "".join(_echo(body))}
            if not body.get("stream"):
                return self._json(200, _anthropic_tool_message(args) if anthropic else _openai_tool_completion(args))
            events = _anthropic_tool_events(args) if anthropic else _openai_tool_events(args)
            return self._stream(events, model)
        if not body.get("stream"):
            return self._json(200, _anthropic_message(reply) if anthropic else _openai_completion(reply))
        self._stream(_anthropic_events(reply) if anthropic else _openai_events(reply), model)

    def _stream(self, events: list[bytes], model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, event in enumerate(events):
            if model == "die" and i == 2:
                self.wfile.flush()
                os._exit(1)
            self._chunk(event)
            time.sleep(0.01 if model not in ("echo", "echo-tool") else 0)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _slow(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            for i in range(600):
                chunk = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 0, "model": "slow",
                         "choices": [{"index": 0, "delta": {"content": f"{i} "}, "finish_reason": None}]}
                self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                sent += 1
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            if os.environ.get("FAKE_EVENTS"):
                with _record_lock, open(os.environ["FAKE_EVENTS"], "a") as fh:
                    fh.write(f"slow: client closed after {sent} chunks\n")
            self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, data: dict, headers: dict | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)


def _echo(body: dict) -> list[str]:
    text = ""
    for m in body.get("messages") or []:
        if m.get("role") == "user":
            c = m.get("content")
            text = c if isinstance(c, str) else "".join(b.get("text", "") for b in c or [] if isinstance(b, dict))
    return [text[i:i + 3] for i in range(0, len(text), 3)] or [""]


def _openai_completion(reply: list[str] = REPLY) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "ok",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(reply)},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}}


def _openai_events(reply: list[str] = REPLY) -> list[bytes]:
    def chunk(delta, finish=None, usage=None):
        c = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "ok",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            c = {**c, "choices": [], "usage": usage}
        return b"data: " + json.dumps(c).encode() + b"\n\n"
    return ([chunk({"role": "assistant", "content": ""})] + [chunk({"content": t}) for t in reply]
            + [chunk({}, "stop"), chunk({}, usage={"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}),
               b"data: [DONE]\n\n"])


def _anthropic_message(reply: list[str] = REPLY) -> dict:
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": "ok",
            "content": [{"type": "text", "text": "".join(reply)}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 7, "output_tokens": 4}}


def _anthropic_events(reply: list[str] = REPLY) -> list[bytes]:
    def ev(name, data):
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
    msg = {**_anthropic_message(), "content": [], "stop_reason": None, "usage": {"input_tokens": 7, "output_tokens": 1}}
    return ([ev("message_start", {"type": "message_start", "message": msg}),
             ev("content_block_start", {"type": "content_block_start", "index": 0,
                                        "content_block": {"type": "text", "text": ""}})]
            + [ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": t}}) for t in reply]
            + [ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                    "usage": {"output_tokens": 4}}),
               ev("message_stop", {"type": "message_stop"})])


def _pieces(args: dict) -> list[str]:
    text = json.dumps(args, ensure_ascii=False)  # as a model writes it: the placeholders' brackets as they are
    return [text[i:i + 3] for i in range(0, len(text), 3)]


def _openai_tool_completion(args: dict) -> dict:
    call = {"id": "call_fake", "type": "function",
            "function": {"name": "record", "arguments": json.dumps(args, ensure_ascii=False)}}
    done = _openai_completion()
    return {**done, "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                                 "finish_reason": "tool_calls"}]}


def _openai_tool_events(args: dict) -> list[bytes]:
    def chunk(delta, finish=None):
        c = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "ok",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(c).encode() + b"\n\n"
    start = {"index": 0, "id": "call_fake", "type": "function", "function": {"name": "record", "arguments": ""}}
    return ([chunk({"role": "assistant", "content": None, "tool_calls": [start]})]
            + [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in _pieces(args)]
            + [chunk({}, "tool_calls"), b"data: [DONE]\n\n"])


def _anthropic_tool_message(args: dict) -> dict:
    return {**_anthropic_message(), "content": [{"type": "tool_use", "id": "toolu_fake", "name": "record",
                                                 "input": args}], "stop_reason": "tool_use"}


def _anthropic_tool_events(args: dict) -> list[bytes]:
    def ev(name, data):
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
    msg = {**_anthropic_message(), "content": [], "stop_reason": None, "usage": {"input_tokens": 7, "output_tokens": 1}}
    block = {"type": "tool_use", "id": "toolu_fake", "name": "record", "input": {}}
    return ([ev("message_start", {"type": "message_start", "message": msg}),
             ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})]
            + [ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "input_json_delta", "partial_json": p}})
               for p in _pieces(args)]
            + [ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                                    "usage": {"output_tokens": 4}}),
               ev("message_stop", {"type": "message_stop"})])


_record_lock = threading.Lock()


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 refuses a burst of 100 connections


if __name__ == "__main__":
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()

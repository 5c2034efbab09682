"""The gateway's side of the privacy scanner (``gateway/privacy.py``): making it from the config,
running it fail-closed (an error or a timeout makes the request private), redacting a request for
a cloud backend, and restoring the original values in the reply, whole or streamed."""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass
from typing import Any, AsyncIterator

from .sse import SSEParser, format_sse


@dataclass(frozen=True)
class ScanFailure:
    """A scan that did not finish: private, with the reason (the ScanResult fields the policy reads)."""
    error: str
    private: bool = True
    findings: tuple = ()
    mode: str = "local"


class _Unavailable:
    def __init__(self, why: str) -> None:
        self.why = why

    def scan_request(self, protocol: str, body: Any) -> Any:
        raise RuntimeError(self.why)


def make_scanner(policy: Any, factory: Any = None) -> Any:
    """The scanner for ``[policy.privacy]``: ``factory(rules)`` when given, else gateway.privacy's
    ``Scanner``. When it cannot be made, one whose every scan fails (so every request is private)."""
    rules = dict(policy.privacy)
    rules.pop("enabled", None)
    try:
        if factory is not None:
            return factory(rules)
        from .privacy import PrivacyRules, Scanner

        return Scanner(PrivacyRules.from_config(rules))
    except ImportError:
        return _Unavailable("the privacy scanner (inhouse.gateway.privacy) is not installed")
    except Exception as exc:  # noqa: BLE001 - a bad rule: fail closed, /health and the ledger say why
        return _Unavailable(f"the privacy scanner could not be made: {type(exc).__name__}: {exc}")


async def scan_request(scanner: Any, protocol: str, body: Any, timeout_s: float, *, inline: bool = False) -> Any:
    """The scanner's ScanResult, or a ScanFailure (private) on any error or after ``timeout_s``.

    ``inline``: scan on the calling thread (a small body: the hop to a worker thread costs more
    than the scan; the scanner's own deadline still applies). Otherwise in a thread, so a large
    body does not hold up other requests' I/O."""
    try:
        if inline:
            result = scanner.scan_request(protocol, body)
        else:
            result = await asyncio.wait_for(asyncio.to_thread(scanner.scan_request, protocol, body), timeout_s)
    except asyncio.TimeoutError:
        return ScanFailure(f"the scan took longer than {timeout_s:g} s")
    except Exception as exc:  # noqa: BLE001 - fail closed
        return ScanFailure(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    if not hasattr(result, "private"):
        return ScanFailure("the scanner returned no verdict")
    return result


def redact(scanner: Any, protocol: str, body: Any, scan: Any) -> tuple[dict, Any]:
    """(the body with each finding replaced by a placeholder, its Restorer)."""
    fn = getattr(scanner, "redact_request", None)
    if fn is None:
        from .privacy import redact_request as fn  # type: ignore[attr-defined,no-redef]
    return fn(protocol, body, scan)


def restore_json(value: Any, restorer: Any) -> Any:
    """Every string in a whole reply with the original values put back. Tool-call arguments are
    JSON text: restored inside their parsed value (or, when they do not parse, with each value
    JSON-escaped), so a value with quotes, backslashes or newlines keeps them valid JSON. An
    Anthropic ``tool_use.input`` is already an object: its strings get the values as they are."""
    if isinstance(value, str):
        return restorer.restore(value)
    if isinstance(value, list):
        return [restore_json(v, restorer) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "arguments" and isinstance(v, str):
                try:
                    out[k] = json.dumps(restore_json(json.loads(v), restorer), ensure_ascii=False)
                    continue
                except ValueError:
                    out[k] = restorer.restore(v, json_string=True)  # JSON source, if broken
                    continue
            out[k] = restore_json(v, restorer)
        return out
    return value


class StreamRestore:
    """Restores placeholders in the client's SSE stream. Each text stream (a choice's content or
    reasoning, a tool call's arguments, an Anthropic content block) has its own restorer, which
    holds back a placeholder split across chunks and is flushed before that stream ends. Tool-call
    arguments (OpenAI ``function.arguments``, Anthropic ``input_json_delta``) are pieces of a JSON
    document: their values go in JSON-string-escaped; text and thinking get them as they are."""

    def __init__(self, client: str, restorer: Any) -> None:
        self.client = client
        self.base = restorer
        self.parser = SSEParser()
        self.live: dict[tuple, Any] = {}

    def _feed(self, key: tuple, text: str, json_string: bool = False) -> str:
        r = self.live.get(key)
        if r is None:
            fresh = getattr(self.base, "stream", None)
            if callable(fresh):
                r = fresh(json_string=True) if json_string else fresh()
            else:
                r = copy.deepcopy(self.base)
            self.live[key] = r
        return r.feed(text)

    def _flush(self, match: Any) -> dict[tuple, str]:
        out = {}
        for key in [k for k in self.live if match(k)]:
            text = self.live.pop(key).finish()
            if text:
                out[key] = text
        return out

    def feed(self, chunk: bytes) -> bytes:
        out = []
        for event, data in self.parser.feed(chunk):
            try:
                obj = json.loads(data)
            except ValueError:
                out.append(format_sse(event, data))
                continue
            if not isinstance(obj, dict):
                out.append(format_sse(event, data))
                continue
            out.extend(self._openai(obj) if self.client == "openai" else self._anthropic(event, obj))
        return b"".join(out)

    def _openai(self, obj: dict) -> list[bytes]:
        out = []
        for choice in obj.get("choices") or []:
            i = choice.get("index", 0)
            delta = choice.get("delta") or {}
            for field in ("content", "reasoning_content"):
                if isinstance(delta.get(field), str) and delta[field]:
                    delta[field] = self._feed((i, field), delta[field])
            for call in delta.get("tool_calls") or []:
                fn = call.get("function") or {}
                if isinstance(fn.get("arguments"), str) and fn["arguments"]:
                    fn["arguments"] = self._feed((i, "tool", call.get("index", 0)), fn["arguments"],
                                                 json_string=True)
            if choice.get("finish_reason") is not None:
                flushed = self._flush(lambda k, i=i: k[0] == i)
                if flushed:
                    extra: dict[str, Any] = {}
                    for key, text in flushed.items():
                        if key[1] == "tool":
                            extra.setdefault("tool_calls", []).append(
                                {"index": key[2], "function": {"arguments": text}})
                        else:
                            extra[key[1]] = text
                    pre = {**obj, "choices": [{"index": i, "delta": extra, "finish_reason": None}]}
                    out.append(format_sse(None, pre))
        out.append(format_sse(None, obj))
        return out

    def _anthropic(self, event: str | None, obj: dict) -> list[bytes]:
        kind = obj.get("type") or event
        index = obj.get("index", 0)
        fields = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            field = fields.get(delta.get("type"))
            if field and isinstance(delta.get(field), str):
                delta[field] = self._feed((index, delta["type"]), delta[field],
                                          json_string=delta["type"] == "input_json_delta")
        out = []
        if kind in ("content_block_stop", "message_delta", "message_stop"):
            match = (lambda k: k[0] == index) if kind == "content_block_stop" else (lambda k: True)
            for (i, dtype), text in self._flush(match).items():
                out.append(format_sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                                              "delta": {"type": dtype, fields[dtype]: text}}))
        out.append(format_sse(event, obj))
        return out


async def restore_stream(stream: AsyncIterator[bytes], client: str, restorer: Any) -> AsyncIterator[bytes]:
    """``stream`` (the client's SSE bytes) with the original values restored."""
    r = StreamRestore(client, restorer)
    try:
        async for chunk in stream:
            out = r.feed(chunk)
            if out:
                yield out
    finally:
        await stream.aclose()  # type: ignore[attr-defined]  # its ledger row is written now, not at GC

"""Any OpenAI-compatible server (llama.cpp server, Ollama, LM Studio, vLLM) over httpx.

Streams ``/v1/chat/completions`` as server-sent events with ``stream_options.include_usage`` so
servers that support it send exact token counts. Tool-call deltas are gathered by their index and
emitted whole. The server's own timings are passed through when it sends them: llama.cpp server's
``timings`` object, or Ollama's ``*_duration`` fields (nanoseconds).
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from ..errors import ConfigError, ContextOverflow, ProtocolError, ServerError, ServerUnreachable
from ._tags import TagSplitter
from .base import (
    ChatRequest,
    Engine,
    Event,
    Finished,
    ReasoningDelta,
    ServerTimings,
    Started,
    TextDelta,
    ToolCall,
    Usage,
    now,
)


# How llama.cpp server, llama_cpp.server, vLLM and Ollama word "the prompt does not fit"
_CONTEXT_ERROR = re.compile(r"context (window|length|size)|exceeds? the (available )?context|too many tokens", re.I)


class _EmptyStream(ProtocolError):
    """The server answered 200 and then closed the stream without a single event."""


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_BARE_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d+)(/.*)?")


def normalize_endpoint(url: str) -> str:
    """A server's base URL as httpx needs it, checked before anything connects.

    ``host:port`` (e.g. ``localhost:11434``, ``127.0.0.1:8080``) is read as ``http://host:port``;
    anything that is not an http(s) URL with a valid host and port raises ``ConfigError``.

    >>> normalize_endpoint("localhost:11434")
    'http://localhost:11434'
    """
    import ipaddress
    from urllib.parse import urlsplit

    text = (url or "").strip()
    hint = "write it as http://HOST:PORT, e.g. --endpoint http://127.0.0.1:8080"
    if not text:
        raise ConfigError(f"--endpoint is empty; {hint}.")
    if "://" not in text:
        if not _BARE_HOST_PORT.fullmatch(text):
            raise ConfigError(f"--endpoint {url!r} is not a URL; {hint}.")
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # a port that is not a number or above 65535
        raise ConfigError(f"--endpoint {url!r} has a bad host or port ({exc}); {hint}.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(f"--endpoint {url!r} uses {parts.scheme!r}; only http:// and https:// servers "
                          f"are supported; {hint}.")
    host = parts.hostname or ""
    if not host:
        raise ConfigError(f"--endpoint {url!r} names no host; {hint}.")
    if port == 0:
        raise ConfigError(f"--endpoint {url!r} has port 0, which no server listens on; {hint}.")
    if parts.username or parts.password:
        raise ConfigError(f"--endpoint {url!r} carries credentials; pass the key with --api-key instead.")
    if parts.query or parts.fragment:
        raise ConfigError(f"--endpoint {url!r} has a query or fragment; give only the server's base URL.")
    bracketed = parts.netloc.rsplit("@", 1)[-1].startswith("[")
    if bracketed or ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ConfigError(f"--endpoint {url!r}: {host!r} is not an IPv6 address; {hint}.") from None
    elif re.fullmatch(r"[\d.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ConfigError(f"--endpoint {url!r}: {host!r} is not an IPv4 address "
                              f"(four numbers from 0 to 255); {hint}.") from None
    elif len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in host.rstrip(".").split(".")):
        raise ConfigError(f"--endpoint {url!r}: {host!r} is not a valid host name; {hint}.")
    return text.rstrip("/")


def _base_url(url: str) -> str:
    url = normalize_endpoint(url)
    return url if url.endswith("/v1") else url + "/v1"


def server_timings(chunk: dict[str, Any], t: float) -> ServerTimings | None:
    timings = chunk.get("timings")
    if isinstance(timings, dict) and "predicted_ms" in timings:
        return ServerTimings(
            prompt_n=timings.get("prompt_n"),
            prompt_s=(timings["prompt_ms"] / 1000.0) if "prompt_ms" in timings else None,
            predicted_n=timings.get("predicted_n"),
            predicted_s=timings["predicted_ms"] / 1000.0,
            source="llama.cpp server",
            t=t,
        )
    if "eval_duration" in chunk:  # Ollama
        return ServerTimings(
            prompt_n=chunk.get("prompt_eval_count"),
            prompt_s=(chunk["prompt_eval_duration"] / 1e9) if "prompt_eval_duration" in chunk else None,
            predicted_n=chunk.get("eval_count"),
            predicted_s=chunk["eval_duration"] / 1e9,
            source="ollama",
            t=t,
        )
    return None


class OpenAIEngine(Engine):
    """A model served over the OpenAI chat completions API.

    >>> with OpenAIEngine("http://127.0.0.1:8080", model="qwen2.5-coder") as engine:
    ...     engine.chat(ChatRequest.from_prompt("Say hi")).text
    'Hi!'
    """

    name = "openai"
    supports_tools = True  # the API has them; whether the model uses them well is eval's question
    supports_reasoning = True  # reasoning_content / reasoning deltas and <think> tags

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 600.0,
        transport: Any = None,
    ) -> None:
        import httpx

        self.base_url = _base_url(base_url)
        self.model_name = model or "default"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model_name,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.seed is not None:
            payload["seed"] = request.seed
        if request.stop:
            payload["stop"] = request.stop
        if request.tools:
            payload["tools"] = request.tools
        if request.thinking is not None:
            # llama.cpp server (--jinja), vLLM and SGLang hand these to the chat template
            payload["chat_template_kwargs"] = {"enable_thinking": request.thinking}
        return payload

    def generate(self, request: ChatRequest) -> Iterator[Event]:
        import httpx
        from httpx_sse import SSEError, connect_sse

        url = f"{self.base_url}/chat/completions"
        payload = self._payload(request)
        seen: list[bool] = []  # filled when the first stream event arrives
        yield Started(t=now())
        try:
            with connect_sse(self._client, "POST", "/chat/completions", json=payload) as source:
                response = source.response
                if response.status_code >= 400:
                    response.read()
                    self._raise_for(response, url)
                try:
                    yield from self._read_stream(source.iter_sse(), url, seen)
                except (_EmptyStream, httpx.RemoteProtocolError, httpx.ReadError):
                    if not seen:
                        self._explain_empty_stream(payload, url)
                    raise
        except httpx.ConnectError as exc:
            raise ServerUnreachable(
                f"Cannot reach {self.base_url} ({exc}). Is the server running? "
                "Start one, e.g. `python -m llama_cpp.server --model MODEL.gguf`, or fix --endpoint."
            ) from exc
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(
                f"{self.base_url} did not answer in time ({type(exc).__name__}). "
                "The server may be overloaded or stuck; check it, or raise the timeout."
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise ServerUnreachable(
                f"The connection to {self.base_url} broke mid-reply ({exc}). "
                "The server may have crashed: check its log."
            ) from exc
        except SSEError as exc:
            raise ProtocolError(
                f"{url} did not answer with a server-sent event stream ({exc}). "
                "Is this an OpenAI-compatible endpoint?"
            ) from exc
        except httpx.TransportError as exc:  # anything else on the way (proxy, TLS, protocol)
            raise ServerUnreachable(
                f"Cannot talk to {self.base_url} ({type(exc).__name__}: {exc}). Check --endpoint and the server."
            ) from exc
        except httpx.InvalidURL as exc:
            raise ConfigError(f"--endpoint {self.base_url!r} is not a URL httpx accepts ({exc}).") from exc

    def _explain_empty_stream(self, payload: dict[str, Any], url: str) -> None:
        """llama_cpp.server answers 200 and then closes the stream (empty, or reset) when it
        rejects a request it has begun to stream, e.g. a prompt longer than its context: ask
        once more without streaming to learn the error, and raise it."""
        import httpx

        for _ in range(2):  # the first try may land on the pooled connection the server just reset
            try:
                again = self._client.post("/chat/completions", json={**payload, "stream": False, "max_tokens": 1})
            except httpx.TransportError:
                continue
            if again.status_code >= 400:
                self._raise_for(again, url)
            return

    @staticmethod
    def _raise_for(response: Any, url: str) -> None:
        if response.status_code == 400 and _CONTEXT_ERROR.search(response.text):
            raise ContextOverflow(
                f"{url} refused the request: it does not fit the model's context "
                f"({response.text[:160].strip()!r}). Shorten it or serve the model with a larger context."
            )
        raise ServerError(
            f"{url} answered HTTP {response.status_code}: {response.text[:200].strip()!r}. "
            "Check the model name and the server's log.",
            status_code=response.status_code,
        )

    def _read_stream(self, events: Iterator[Any], url: str, seen: list[bool] | None = None) -> Iterator[Event]:
        splitter = TagSplitter({"think": "reasoning"})
        calls: dict[int, dict[str, str]] = {}
        finish: str | None = None
        usage: Usage | None = None
        timings: ServerTimings | None = None
        done = False
        seen = [] if seen is None else seen
        for sse in events:
            if not seen:
                seen.append(True)
            t = now()
            if sse.data.strip() == "[DONE]":
                done = True
                break
            try:
                chunk = json.loads(sse.data)
            except ValueError as exc:
                raise ProtocolError(
                    f"{url} sent a malformed stream chunk ({sse.data[:80]!r}): not JSON. "
                    "Is this an OpenAI-compatible endpoint?"
                ) from exc
            if not isinstance(chunk, dict):
                raise ProtocolError(f"{url} sent a stream chunk that is not a JSON object.")
            if "error" in chunk:
                err = chunk["error"]
                msg = err.get("message", err) if isinstance(err, dict) else err
                raise ServerError(f"{url} reported an error mid-stream: {msg}")
            if isinstance(chunk.get("usage"), dict):
                u = chunk["usage"]
                details = u.get("completion_tokens_details") or {}
                usage = Usage(
                    prompt_tokens=int(u.get("prompt_tokens", 0)),
                    completion_tokens=int(u.get("completion_tokens", 0)),
                    reasoning_tokens=details.get("reasoning_tokens"),
                    t=t,
                )
            timings = server_timings(chunk, t) or timings
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning:
                    yield ReasoningDelta(text=reasoning, t=t)
                if delta.get("content"):
                    for kind, text in splitter.feed(delta["content"]):
                        yield (ReasoningDelta if kind == "reasoning" else TextDelta)(text=text, t=t)
                for tc in delta.get("tool_calls") or []:
                    slot = calls.setdefault(int(tc.get("index", len(calls))), {"id": "", "name": "", "arguments": ""})
                    fn = tc.get("function") or {}
                    slot["id"] = tc.get("id") or slot["id"]
                    slot["name"] += fn.get("name") or ""
                    slot["arguments"] += fn.get("arguments") or ""
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        if not done and finish is None and not seen:
            raise _EmptyStream(f"{url} answered with an empty stream: no reply and no error. Check the server's log.")
        if not done and finish is None:
            raise ProtocolError(
                f"The stream from {url} ended before the reply was finished "
                "(no finish_reason and no [DONE]). The server may have crashed."
            )
        t = now()
        for kind, text in splitter.flush():
            yield (ReasoningDelta if kind == "reasoning" else TextDelta)(text=text, t=t)
        for index in sorted(calls):
            c = calls[index]
            yield ToolCall(id=c["id"] or f"call_{index}", name=c["name"], arguments=c["arguments"], t=t)
        if usage is not None:
            yield usage
        if timings is not None:
            yield timings
        yield Finished(finish_reason=finish or "stop", t=t)

    def list_models(self) -> list[str]:
        import httpx

        try:
            r = self._client.get("/models")
            r.raise_for_status()
            return [m["id"] for m in r.json().get("data", [])]
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"Cannot reach {self.base_url} ({exc}). Is the server running?") from exc
        except httpx.HTTPStatusError as exc:
            raise ServerError(f"{self.base_url}/models answered HTTP {exc.response.status_code}.",
                              status_code=exc.response.status_code) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"{self.base_url}/models did not answer with a model list.") from exc

    def close(self) -> None:
        self._client.close()

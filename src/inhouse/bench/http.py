"""Benchmark runner for an OpenAI-compatible server (llama.cpp server, llama_cpp.server, Ollama,
LM Studio, vLLM), through ``/v1/completions`` with a raw prompt so no chat template is involved.

Depth: the depth text is sent once (untimed, one token asked) so the server's prompt cache holds
it; each repetition then sends that text plus a fresh random suffix, so only the suffix is
evaluated. Whether the server really had the depth cached is read from its reply where it says
(llama.cpp server: ``timings.cache_n``, or ``usage.prompt_tokens`` minus ``timings.prompt_n``,
the tokens it evaluated; OpenAI style: ``usage.prompt_tokens_details.cached_tokens``); where it
does not, the result says ``depth_checked: false``. A server's generation always follows a
prompt, so decoding starts at depth + prompt tokens: the result reports that position.

Token counts come from the server's ``usage`` (exact, its own tokenizer), never from counting
chunks. Inter-token latencies are per token when every chunk carried one token (the chunk count
equals the token count), per chunk otherwise, and labelled so. When the server is on this
machine, its process (found by the port) is the one whose peak memory is reported.
"""

from __future__ import annotations

import json
import random
import time
from urllib.parse import urlparse

from ..errors import ProtocolError, ServerError, ServerUnreachable
from .config import BenchConfig
from .inprocess import _TEXT
from .peak import gguf_of_process, pid_listening_on
from .result import Rep

_WORDS = _TEXT.replace("\n", " ").split()
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class HTTPRunner:
    engine = "http"

    def __init__(self, config: BenchConfig, *, pid: int | None = None, load_s: float | None = None) -> None:
        import httpx

        self.config = config
        base = config.endpoint.rstrip("/")
        self.base_url = base if base.endswith("/v1") else base + "/v1"
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=httpx.Timeout(600, connect=5))
        parsed = urlparse(self.base_url)
        self.local = parsed.hostname in LOCAL_HOSTS
        self.pid = pid if pid is not None else (pid_listening_on(parsed.port or 80) if self.local else None)
        gguf = config.gguf or (gguf_of_process(self.pid) if self.pid else None)
        self.spec = None
        if gguf:
            from ..models.gguf_header import read_header
            from ..plan.spec import ModelSpec

            self.spec = ModelSpec.from_header(read_header(gguf))
        self._load_s = load_s
        self._tokens_per_word = 1.5
        self._depth_text = ""
        self._depth_tokens = 0

    @property
    def context_limit(self) -> int:
        if self.spec and self.spec.n_ctx_train:
            return self.spec.n_ctx_train
        return 1 << 30

    def load(self) -> float | None:
        """Nothing to load; learn how many tokens a word of the filler text costs."""
        sample = _WORDS[:48]
        usage, _ = self._complete(" ".join(sample), max_tokens=1, stream=False)
        self._tokens_per_word = max(0.5, usage["prompt_tokens"] / len(sample))
        return self._load_s

    def _text(self, n_tokens: int, seed: int) -> str:
        rng = random.Random(seed)
        n_words = max(1, round(n_tokens / self._tokens_per_word))
        return " ".join(rng.choice(_WORDS) for _ in range(n_words))

    def fill(self, depth: int) -> None:
        self._depth_text = (self._text(depth, seed=-depth) + "\n") if depth else ""
        self._depth_tokens = 0
        if depth:
            usage, _ = self._complete(self._depth_text, max_tokens=1, stream=False)
            self._depth_tokens = usage["prompt_tokens"]

    def rep(self, depth: int, n_prompt: int, n_gen: int, seed: int) -> Rep:
        # a unique first word: no server can have this prompt cached past the depth text
        prompt = self._depth_text + f"run{seed}x{random.Random(seed).randrange(1 << 30)} " + self._text(n_prompt, seed)
        t_start = time.perf_counter()
        usage, stream = self._complete(prompt, max_tokens=n_gen, stream=True)
        times, timings = stream["times"], stream["timings"]
        if usage is None:
            # Some servers (llama_cpp.server) stream no usage. The counts are still exact: the reply
            # stopped at max_tokens (finish_reason "length"), and the server's own count of the prompt
            # comes from the same prompt sent again unstreamed (a prompt-cache hit, so cheap).
            if stream["finish"] != "length":
                raise ProtocolError(f"{self.base_url}/completions sent no token usage and stopped before "
                                    f"max_tokens (finish_reason {stream['finish']!r}); inhouse counts tokens only "
                                    "from the server, never from chunks.")
            again, _ = self._complete(prompt, max_tokens=1, stream=False)
            usage = {"prompt_tokens": again["prompt_tokens"], "completion_tokens": n_gen}
        if len(times) < 2 or usage["completion_tokens"] < 2:
            raise ProtocolError(f"{self.base_url}/completions streamed {usage['completion_tokens']} token(s) in "
                                f"{len(times)} chunk(s); decoding cannot be timed. Does the server honour "
                                "max_tokens and ignore_eos?")
        gen = usage["completion_tokens"]
        cached = self.cached_tokens(usage, timings)
        evaluated = usage["prompt_tokens"] - (cached if cached is not None else self._depth_tokens)
        rep = Rep(prompt_tokens=max(1, evaluated), gen_tokens=gen, t_start=t_start, t_first=times[0],
                  token_times=times, decode_position=usage["prompt_tokens"],
                  itl_unit="token" if len(times) == gen else "chunk", depth_cached=cached,
                  depth_tokens=self._depth_tokens)
        if timings:
            rep.engine_prefill_n = timings.get("prompt_n")
            rep.engine_prefill_s = (timings.get("prompt_ms") or 0) / 1000 or None
            rep.engine_decode_n = max(0, (timings.get("predicted_n") or 1) - 1) or None
            per_token = timings.get("predicted_per_token_ms")
            rep.engine_decode_s = (per_token * rep.engine_decode_n / 1000) if per_token and rep.engine_decode_n else None
        return rep

    @staticmethod
    def cached_tokens(usage: dict, timings: dict | None) -> int | None:
        """Prompt tokens the server took from its cache instead of evaluating, from its own reply;
        None when the reply does not say."""
        details = usage.get("prompt_tokens_details") or {}
        if isinstance(details.get("cached_tokens"), int):
            return details["cached_tokens"]
        if timings:
            if isinstance(timings.get("cache_n"), int):
                return timings["cache_n"]
            if isinstance(timings.get("prompt_n"), int):
                return max(0, usage["prompt_tokens"] - timings["prompt_n"])
        return None

    def _complete(self, prompt: str, *, max_tokens: int, stream: bool) -> tuple[dict | None, dict]:
        import httpx

        # ignore_eos (llama.cpp server, vLLM) and min_tokens (llama_cpp.server, vLLM) make every
        # repetition decode exactly max_tokens; servers that know neither ignore them.
        payload = {"model": self.config.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                   "stream": stream, "ignore_eos": True, "min_tokens": max_tokens, "cache_prompt": True}
        if stream:
            payload["stream_options"] = {"include_usage": True}
        url = f"{self.base_url}/completions"
        try:
            if not stream:
                r = self._client.post("/completions", json=payload)
                self._check(r, url)
                data = r.json()
                return self._usage(data, url), {}
            times: list[float] = []
            usage = timings = finish = None
            with self._client.stream("POST", "/completions", json=payload) as r:
                if r.status_code >= 400:
                    r.read()
                    self._check(r, url)
                for line in r.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    body = line[5:].strip()
                    if body == "[DONE]":
                        break
                    t = time.perf_counter()
                    chunk = json.loads(body)
                    for choice in chunk.get("choices") or []:
                        finish = choice.get("finish_reason") or finish
                    if any(c.get("text") for c in chunk.get("choices") or []):
                        times.append(t)
                    if chunk.get("usage"):
                        usage = chunk["usage"]
                    if chunk.get("timings"):
                        timings = chunk["timings"]
            stream_info = {"times": times, "timings": timings, "finish": finish}
            return (self._usage({"usage": usage}, url) if usage else None), stream_info
        except httpx.ConnectError as exc:
            raise ServerUnreachable(f"Cannot reach {self.base_url} ({exc}). Is the server running?") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise ServerUnreachable(f"The connection to {self.base_url} broke mid-run ({exc}); the server may "
                                    "have crashed: check its log.") from exc
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(f"{self.base_url} did not answer in time ({type(exc).__name__}).") from exc
        except ValueError as exc:
            raise ProtocolError(f"{url} did not answer with OpenAI-style JSON ({exc}).") from exc

    @staticmethod
    def _check(r, url: str) -> None:
        if r.status_code >= 400:
            raise ServerError(f"{url} answered HTTP {r.status_code}: {r.text[:200].strip()!r}.",
                              status_code=r.status_code)

    @staticmethod
    def _usage(data: dict, url: str) -> dict:
        usage = data.get("usage") or {}
        if not isinstance(usage.get("prompt_tokens"), int) or not isinstance(usage.get("completion_tokens"), int):
            raise ProtocolError(f"{url} reported no token usage; inhouse needs exact token counts.")
        return usage

    def close(self) -> None:
        self._client.close()

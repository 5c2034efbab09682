"""One benchmark result: a configuration at one context depth, summarized over repetitions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .stats import Estimate, median_ci, percentile


@dataclass
class Rep:
    """One timed repetition. Times are ``time.perf_counter()`` seconds."""

    prompt_tokens: int  # evaluated for this repetition (the depth excluded)
    gen_tokens: int
    t_start: float
    t_first: float  # first generated token available
    token_times: list[float]  # every generated token (HTTP: every chunk that carried text)
    # in-process, decoding is its own test: the time of the first decode call. None when the
    # generation follows the prompt (HTTP), where the first token is the end of prefill.
    t_decode_start: float | None = None
    decode_position: int | None = None  # tokens in the KV cache when decoding started
    itl_unit: str = "token"  # "token" when each timestamp is one token, "chunk" otherwise
    depth_cached: int | None = None  # HTTP: prompt tokens the server did not evaluate, from its reply
    depth_tokens: int | None = None  # HTTP: the depth text's size in the server's own tokens
    engine_prefill_s: float | None = None  # the runner's own clock (llama.cpp perf counters, server timings)
    engine_prefill_n: int | None = None
    engine_decode_s: float | None = None
    engine_decode_n: int | None = None

    @property
    def ttft_s(self) -> float:
        return self.t_first - self.t_start

    @property
    def prefill_tps(self) -> float:
        return self.prompt_tokens / self.ttft_s

    @property
    def decode_tps(self) -> float:
        if self.t_decode_start is not None:  # n_gen decode calls, all timed (llama-bench's tg)
            return self.gen_tokens / (self.token_times[-1] - self.t_decode_start)
        # the first token is excluded: it is the end of prefill, not of decoding. gen_tokens is the
        # exact count (a server's chunks may carry several tokens each).
        return (self.gen_tokens - 1) / (self.token_times[-1] - self.token_times[0])

    @property
    def itls(self) -> list[float]:
        """Gaps between consecutive tokens (or chunks, see ``itl_unit``)."""
        times = ([self.t_decode_start] if self.t_decode_start is not None else []) + self.token_times
        return [b - a for a, b in zip(times, times[1:])]


@dataclass
class BenchResult:
    model: str
    label: str
    engine: str
    depth: int  # asked: tokens in the KV cache before the repetition (llama-bench's -d)
    decode_position: int  # tokens in the KV cache when decoding started: the depth in-process,
    # depth + prompt over HTTP (a server's generation always follows a prompt)
    depth_cached: int | None  # HTTP: the depth the server really had cached, from its replies
    depth_checked: bool  # False when the server's replies do not say what it had cached
    depth_tokens: int | None  # HTTP: the depth text's real size in the server's tokens (sized in words)
    itl_unit: str  # "token", or "chunk" when the server's chunks cannot be mapped to tokens
    settings: dict[str, Any]
    workload: dict[str, Any]
    load_s: float | None
    ttft_cold_s: float | None
    ttft_warm_s: float
    ttft_warm: Estimate
    prefill_tps: float
    prefill: Estimate
    decode_tps: float
    decode: Estimate
    itl_p50_s: float
    itl_p90_s: float
    itl_p99_s: float
    peak_rss_bytes: int | None
    peak_rss_method: str | None
    bytes_per_token: int | None
    bandwidth_bytes_per_s: float | None
    bandwidth_share: float | None  # never above 1: an impossible share is left out, with a note
    engine_prefill_tps: float | None  # from llama.cpp's own counters or the server's timings
    engine_decode_tps: float | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("ttft_warm", "prefill", "decode"):
            d[key] = getattr(self, key).to_dict()
        return d

    @classmethod
    def summarize(cls, *, reps: list[Rep], model: str, label: str, engine: str, depth: int,
                  settings: dict, workload: dict, load_s: float | None, ttft_cold_s: float | None,
                  peak: tuple[int | None, str | None], bytes_per_token: int | None,
                  bandwidth: float | None, notes: list[str]) -> "BenchResult":
        import statistics

        from ..plan.speed import bandwidth_share

        ttft = median_ci([r.ttft_s for r in reps])
        prefill = median_ci([r.prefill_tps for r in reps])
        decode = median_ci([r.decode_tps for r in reps])
        itls = [x for r in reps for x in r.itls]
        eng_p = [r.engine_prefill_n / r.engine_prefill_s for r in reps if r.engine_prefill_s and r.engine_prefill_n]
        eng_d = [r.engine_decode_n / r.engine_decode_s for r in reps if r.engine_decode_s and r.engine_decode_n]
        positions = [r.decode_position for r in reps if r.decode_position is not None]
        cached = [r.depth_cached for r in reps if r.depth_cached is not None]
        checked = engine != "http" or len(cached) == len(reps)
        share = bandwidth_share(bytes_per_token, decode.median, bandwidth)
        notes = list(notes)
        if share is not None and share > 1:
            notes.append(f"no bandwidth share: decoding {decode.median:.1f} t/s x {bytes_per_token / 1e6:.1f} MB/token "
                         f"needs {bytes_per_token * decode.median / 1e9:.1f} GB/s, more than the measured "
                         f"{bandwidth / 1e9:.1f} GB/s (measured under load? `inhouse machine --refresh` when idle)")
            share = None
        return cls(
            model=model, label=label, engine=engine, depth=depth,
            decode_position=int(statistics.median(positions)) if positions else depth,
            depth_cached=int(min(cached)) if cached else None, depth_checked=checked,
            depth_tokens=next((r.depth_tokens for r in reps if r.depth_tokens is not None), None),
            itl_unit="chunk" if any(r.itl_unit == "chunk" for r in reps) else "token",
            settings=settings, workload=workload,
            load_s=load_s, ttft_cold_s=ttft_cold_s, ttft_warm_s=ttft.median, ttft_warm=ttft,
            prefill_tps=prefill.median, prefill=prefill, decode_tps=decode.median, decode=decode,
            itl_p50_s=percentile(itls, 50), itl_p90_s=percentile(itls, 90), itl_p99_s=percentile(itls, 99),
            peak_rss_bytes=peak[0], peak_rss_method=peak[1], bytes_per_token=bytes_per_token,
            bandwidth_bytes_per_s=bandwidth, bandwidth_share=share,
            engine_prefill_tps=median_ci(eng_p).median if eng_p else None,
            engine_decode_tps=median_ci(eng_d).median if eng_d else None,
            notes=notes,
        )

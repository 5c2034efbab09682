"""Running benchmark configurations: loads, depth fills, warm-ups, timed repetitions, and a sweep
that stores every result the moment it is measured."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..errors import InhouseError
from .config import BenchConfig, Workload
from .peak import PeakRSS
from .result import BenchResult

Progress = Callable[[int], None]


def context_for(depths: list[int], workload: Workload) -> int:
    """The context that holds the deepest depth with the prompt and generation on top."""
    from ..plan.kv import KV_PAD, pad

    return pad(max(depths or [0]) + workload.prompt_tokens + workload.gen_tokens + 8, KV_PAD)


def make_runner(config: BenchConfig, **http_kwargs):
    if config.engine == "http":
        from .http import HTTPRunner

        return HTTPRunner(config, **http_kwargs)
    from .inprocess import InProcessRunner

    return InProcessRunner(config, n_ctx=0)


def plan_depths(workload: Workload, context_limit: int) -> tuple[list[int], list[str]]:
    """The depths that fit the model's context with the prompt and generation on top."""
    room = context_limit - workload.prompt_tokens - workload.gen_tokens - 8
    keep = [d for d in workload.depths if d <= room]
    notes = [f"depth {d} skipped: with {workload.prompt_tokens} prompt and {workload.gen_tokens} generated "
             f"tokens it exceeds the model's {context_limit}-token context" for d in workload.depths if d > room]
    return keep, notes


def bytes_per_token(spec, config: BenchConfig, position: int) -> int | None:
    """Bytes a decode step at ``position`` reads (``plan.speed.bytes_per_token``, the function
    ``inhouse fit`` uses too); None when the model's GGUF is unknown."""
    if spec is None:
        return None
    from ..plan.speed import bytes_per_token as per_token

    return per_token(spec, position, type_k=config.type_k, type_v=config.type_v)


@dataclass
class BandwidthFigure:
    """The machine's measured read bandwidth, re-measured (once per sweep) when a decode speed
    would need more than it: a figure measured while the machine was busy is too low, and a
    share above 100% is impossible."""

    bytes_per_s: float | None
    remeasure: Callable[[], float | None] | None = None
    remeasured: bool = False
    before: float | None = None

    def for_decode(self, needed_bytes_per_s: float | None) -> float | None:
        if (needed_bytes_per_s and self.bytes_per_s and needed_bytes_per_s > self.bytes_per_s
                and self.remeasure is not None and not self.remeasured):
            self.remeasured, self.before = True, self.bytes_per_s
            self.bytes_per_s = self.remeasure() or self.bytes_per_s
        return self.bytes_per_s


def run_config(config: BenchConfig, workload: Workload, *, bandwidth: float | BandwidthFigure | None = None,
               progress: Progress | None = None, runner=None) -> Iterator[BenchResult]:
    """Benchmark one configuration at every depth; yields one result per depth as it finishes."""
    import statistics

    figure = bandwidth if isinstance(bandwidth, BandwidthFigure) else BandwidthFigure(bandwidth)
    runner = runner or make_runner(config)
    depths, notes = plan_depths(workload, runner.context_limit)
    if not depths:
        runner.close()
        raise InhouseError(f"{config.label}: no depth fits the model's context ({notes[0] if notes else ''}).")
    if hasattr(runner, "n_ctx"):
        runner.n_ctx = context_for(depths, workload)
    peak = PeakRSS(runner.pid) if runner.pid else None
    try:
        if peak:
            peak.__enter__()
        load_s = runner.load()
        cold: float | None = None
        for depth in depths:
            runner.fill(depth)
            reps = []
            for i in range(workload.warmup + workload.reps):
                rep = runner.rep(depth, workload.prompt_tokens, workload.gen_tokens, seed=depth * 1000 + i + 1)
                if cold is None:
                    cold = rep.ttft_s
                if i >= workload.warmup:
                    reps.append(rep)
                if progress:
                    progress(1)
            peak_now = (peak.so_far(), peak.method) if peak else (None, None)
            # the middle of the decoded stretch: the KV cache read grows with the position
            position = int(statistics.median(r.decode_position for r in reps)) + workload.gen_tokens // 2
            per_token = bytes_per_token(runner.spec, config, position)
            speed = statistics.median(r.decode_tps for r in reps)
            was_remeasured = figure.remeasured
            bw = figure.for_decode(per_token * speed if per_token else None)
            row_notes = list(notes)
            if figure.remeasured and not was_remeasured:
                row_notes.append(f"memory bandwidth re-measured: decoding needed more than the stored "
                                 f"{figure.before / 1e9:.1f} GB/s; now {bw / 1e9:.1f} GB/s")
            if depth != depths[0]:
                row_notes.append(f"ttft_cold_s was measured at depth {depths[0]}, the first request after load")
            if runner.engine == "http" and runner.pid is None:
                row_notes.append("peak memory: the server is not a local process inhouse can see")
            result = BenchResult.summarize(
                reps=reps, model=config.model, label=config.label, engine=runner.engine, depth=depth,
                settings={**config.settings(), "threads": getattr(runner, "threads", config.threads),
                          "n_ctx": getattr(runner, "n_ctx", None)},
                workload=workload.to_dict(), load_s=load_s, ttft_cold_s=cold, peak=peak_now,
                bytes_per_token=per_token, bandwidth=bw, notes=row_notes)
            if runner.engine == "http":
                result.notes += _http_notes(result)
            yield result
    finally:
        if peak:
            peak.__exit__(None, None, None)
        runner.close()


def _http_notes(r: BenchResult) -> list[str]:
    notes = []
    if r.depth and r.depth_tokens is not None and abs(r.depth_tokens - r.depth) > 0.1 * r.depth:
        notes.append(f"depth {r.depth}: the depth text is {r.depth_tokens} tokens in the server's tokenizer "
                     "(it is sized in words)")
    if not r.depth_checked:
        notes.append("depth not checked: the server's replies do not say how many prompt tokens it had cached "
                     "(depth_checked: false)")
    elif r.depth and r.depth_cached is not None and r.depth_cached < 0.9 * r.depth:
        notes.append(f"the server had only {r.depth_cached} tokens cached at depth {r.depth}: its prompt cache "
                     "missed, so each repetition evaluated part of the depth again (the prefill figure counts those tokens)")
    if r.itl_unit == "chunk":
        notes.append("inter-token latency is per streamed chunk: the server's chunks do not map one to one to tokens")
    return notes


def steps(configs: list[BenchConfig], workload: Workload) -> int:
    return len(configs) * len(workload.depths) * (workload.warmup + workload.reps)


@dataclass
class Sweep:
    """Results of a sweep so far; ``error`` is set when it stopped early."""

    sweep_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    results: list[BenchResult] = field(default_factory=list)
    error: str | None = None
    interrupted: bool = False


def run_sweep(configs: list[BenchConfig], workload: Workload, *, store=None, machine_fingerprint=None,
              bandwidth: float | BandwidthFigure | None = None, progress: Progress | None = None,
              runners: dict[str, object] | None = None, sweep: Sweep | None = None) -> Sweep:
    """Run every configuration; store each result as soon as it exists. An error or Ctrl-C stops
    the sweep and is re-raised, with every finished result already stored (and in ``sweep``)."""
    from ..store.db import now_iso

    sweep = sweep or Sweep()
    if not isinstance(bandwidth, BandwidthFigure):
        bandwidth = BandwidthFigure(bandwidth)
    started = now_iso()
    status = "ok"
    try:
        for config in configs:
            runner = (runners or {}).get(config.label)
            for result in run_config(config, workload, bandwidth=bandwidth, progress=progress, runner=runner):
                sweep.results.append(result)
                if store is not None:
                    store.save_bench_result(sweep.sweep_id, result.to_dict(), machine_fingerprint)
    except KeyboardInterrupt:
        status, sweep.interrupted = "interrupted", True
        raise
    except InhouseError as exc:
        status, sweep.error = "failed", str(exc)
        raise
    finally:
        if store is not None:
            store.record_run("bench", started_at=started, status=status, model=",".join(c.label for c in configs),
                             engine=",".join(sorted({c.engine for c in configs})),
                             settings={"sweep_id": sweep.sweep_id, "workload": workload.to_dict()},
                             result={"n_results": len(sweep.results), "error": sweep.error})
    return sweep

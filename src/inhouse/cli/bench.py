"""``inhouse bench``: how fast a model really is here, in-process or behind a server."""

from __future__ import annotations

import csv
import io
import itertools
import sys

import click

from ..errors import InhouseError
from ..plan.settings import CACHE_TYPES
from ._render import console, echo_json, fmt_bytes

CACHE_CHOICES = list(CACHE_TYPES)
CSV_FIELDS = ["label", "engine", "depth", "decode_position", "depth_tokens", "depth_cached", "depth_checked", "itl_unit", "load_s", "ttft_cold_s", "ttft_warm_s", "prefill_tps", "decode_tps",
              "engine_prefill_tps", "engine_decode_tps", "itl_p50_s", "itl_p90_s", "itl_p99_s", "peak_rss_bytes",
              "bytes_per_token", "bandwidth_share"]


def _ints(values: tuple[str, ...], default: tuple[int, ...], minimum: int = 0, name: str = "") -> tuple[int, ...]:
    out: list[int] = []
    for v in values:
        for part in str(v).split(","):
            part = part.strip().lower()
            if not part:
                continue
            scale = 1024 if part.endswith("k") else 1
            try:
                out.append(int(part.removesuffix("k")) * scale)
            except ValueError:
                raise click.BadParameter(f"{v!r} is not a whole number (e.g. 4096 or 4k)", param_hint=name) from None
            if out[-1] < minimum:
                raise click.BadParameter(f"{v!r} is below {minimum}", param_hint=name)
    return tuple(out) or default


def _configs(models, endpoint, model_name, api_key, gguf, threads, cache_types, flash_attns, batches, ubatches):
    from ..bench.config import BenchConfig
    from ..models.discover import resolve_model

    if endpoint:
        targets = [(model_name or "default", f"{model_name or 'default'} @ {endpoint}")]
    else:
        targets = []
        for ref in models or (None,):
            info = resolve_model(ref)
            targets.append((info.path, info.name))
    many = len(threads) > 1 or len(cache_types) > 1 or len(flash_attns) > 1 or len(batches) > 1 or len(ubatches) > 1
    out = []
    for (model, name), t, ct, fa, b, ub in itertools.product(targets, threads, cache_types, flash_attns, batches,
                                                              ubatches):
        label = name
        if many:
            bits = [f"t{t}" if t else "", ct if len(cache_types) > 1 else "", ("fa" if fa else "nofa")
                    if len(flash_attns) > 1 else "", f"b{b}" if len(batches) > 1 else "",
                    f"ub{ub}" if len(ubatches) > 1 else ""]
            label += " [" + " ".join(x for x in bits if x) + "]"
        out.append(BenchConfig(model=model, label=label, engine="http" if endpoint else "llama_cpp",
                               endpoint=endpoint, api_key=api_key, threads=t or None, n_batch=b, n_ubatch=ub,
                               type_k=ct, type_v=ct, flash_attn=fa, gguf=gguf))
    return out


def _fmt(x, unit="", digits=1):
    if x is None:
        return "-"
    return f"{x:.{digits}f}{unit}"


def _print_results(out, results) -> None:
    for r in results:
        out.print(f"[bold]{r.label}[/]  depth {r.depth}{_depth_check(r)}   load {_fmt(r.load_s, ' s', 2)}   "
                  f"TTFT cold {_fmt(r.ttft_cold_s, ' s', 3)}, warm {r.ttft_warm_s:.3f} s "
                  f"{r.ttft_warm.interval_label(3)}".rstrip())
        out.print(f"  prefill {r.prefill_tps:8.1f} t/s {r.prefill.interval_label()}"
                  f"   {_engine_clock(r)}: {_fmt(r.engine_prefill_tps)}")
        where = (f"at position {r.decode_position} (depth + prompt: over HTTP decoding follows the prompt)"
                 if r.decode_position != r.depth else f"at depth {r.depth}")
        unit = "inter-token" if r.itl_unit == "token" else "inter-chunk"
        out.print(f"  decode  {r.decode_tps:8.1f} t/s {r.decode.interval_label()}"
                  f"   {_engine_clock(r)}: {_fmt(r.engine_decode_tps)}   {where}")
        out.print(f"  {unit} p50 {r.itl_p50_s * 1000:.1f} / p90 {r.itl_p90_s * 1000:.1f} / p99 "
                  f"{r.itl_p99_s * 1000:.1f} ms")
        mem = f"  peak RSS {fmt_bytes(r.peak_rss_bytes)}"
        if r.bandwidth_share is not None and r.bandwidth_share <= 1:
            mem += (f"   decoding reads {fmt_bytes(r.bytes_per_token)}/token = {r.bandwidth_share * 100:.0f}% of "
                    f"the measured {r.bandwidth_bytes_per_s / 1e9:.1f} GB/s")
        out.print(mem)
    notes = sorted({n for r in results for n in r.notes})
    for n in notes:
        out.print(f"[dim]note: {n}[/]")
    if any(r.decode.coverage is not None and r.decode.coverage < 0.95 for r in results):
        out.print("[dim]note: intervals are distribution-free intervals of the median with their exact coverage; "
                  "with fewer than 6 repetitions none reaches 95% (--reps 6 or more)[/]")


def _depth_check(r) -> str:
    if r.engine != "http" or not r.depth:
        return ""
    size = f"depth text {r.depth_tokens} tokens; " if r.depth_tokens is not None else ""
    if not r.depth_checked:
        return f" ({size}not checked: the server does not report cached tokens)"
    return f" ({size}server had {r.depth_cached} cached)"


def _engine_clock(r) -> str:
    return "llama.cpp's counters" if r.engine == "llama_cpp" else "server's timings"


def _print_compare(out, results) -> None:
    pairs: dict[tuple[str, int], dict[str, object]] = {}
    for r in results:
        pairs.setdefault((r.label.removesuffix(" (server)"), r.depth), {})[r.engine] = r
    out.print("\n[bold]In-process vs. llama.cpp server[/] (server / in-process)")
    for (label, depth), pair in pairs.items():
        if {"llama_cpp", "http"} - set(pair):
            continue
        a, b = pair["llama_cpp"], pair["http"]
        out.print(f"  {label}, depth {depth}: TTFT {a.ttft_warm_s * 1000:.1f} -> {b.ttft_warm_s * 1000:.1f} ms "
                  f"(x{b.ttft_warm_s / a.ttft_warm_s:.2f}), prefill {a.prefill_tps:.1f} -> {b.prefill_tps:.1f} t/s "
                  f"(x{b.prefill_tps / a.prefill_tps:.2f}), decode {a.decode_tps:.1f} -> {b.decode_tps:.1f} t/s "
                  f"(x{b.decode_tps / a.decode_tps:.2f}; decoding from position {a.decode_position} in-process, "
                  f"{b.decode_position} on the server, whose generation follows the prompt)")


@click.command()
@click.argument("models", nargs=-1)
@click.option("--endpoint", help="Benchmark an OpenAI-compatible server instead, e.g. http://127.0.0.1:8080.")
@click.option("--model", "model_name", help="With --endpoint: the served model's name.")
@click.option("--api-key", envvar="INHOUSE_API_KEY", help="API key for --endpoint (or INHOUSE_API_KEY).")
@click.option("--gguf", type=click.Path(exists=True, dir_okay=False),
              help="With --endpoint: the GGUF the server runs, for bytes per token (found by itself for a local server).")
@click.option("--depth", "-d", "depths", multiple=True,
              help="Tokens already in the KV cache; repeat or comma-separate [default: 0,4096,16384, capped by the model].")
@click.option("--prompt-tokens", type=click.IntRange(1), default=512, show_default=True, help="Timed prefill per repetition.")
@click.option("--gen-tokens", type=click.IntRange(2), default=128, show_default=True, help="Decoded tokens per repetition.")
@click.option("--reps", type=click.IntRange(1), default=5, show_default=True, help="Timed repetitions.")
@click.option("--warmup", type=click.IntRange(0), default=1, show_default=True, help="Untimed repetitions first.")
@click.option("--threads", "-t", multiple=True, help="CPU threads; repeat to sweep [default: one per physical core].")
@click.option("--cache-type", multiple=True, type=click.Choice(CACHE_CHOICES), help="K and V cache type; repeat to sweep [default: f16].")
@click.option("--flash-attn", multiple=True, type=click.Choice(["on", "off"]), help="Repeat to sweep [default: off].")
@click.option("--batch", multiple=True, help="n_batch; repeat to sweep [default: 512].")
@click.option("--ubatch", multiple=True, help="n_ubatch; repeat to sweep [default: 512].")
@click.option("--compare", is_flag=True, help="Run the same workload in-process and through a local llama.cpp server.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows instead of a table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV rows instead of a table.")
def bench(models, endpoint, model_name, api_key, gguf, depths, prompt_tokens, gen_tokens, reps, warmup, threads,
          cache_type, flash_attn, batch, ubatch, compare, as_json, as_csv) -> None:
    """Measure load time, time to first token, prefill and decode speed, inter-token latency, peak
    memory and the share of memory bandwidth decoding reaches, at several context depths.

    \b
    inhouse bench                                    # the default model, depths 0, 4096, 16384
    inhouse bench a-q4_k_m.gguf a-q8_0.gguf -d 0 -d 8k --cache-type f16 --cache-type q8_0 --flash-attn on
    inhouse bench --endpoint http://127.0.0.1:8080 --model qwen2.5-coder-7b
    inhouse bench --compare                          # in-process vs. a llama.cpp server it starts
    """
    from ..bench.config import DEFAULT_DEPTHS, Workload
    from ..bench.run import BandwidthFigure, Sweep, context_for, plan_depths, run_sweep, steps
    from ..machine.probe import probe_machine, remeasure_bandwidth
    from ..store import Store

    if compare and endpoint:
        raise InhouseError("--compare starts its own local server; leave out --endpoint.")
    if endpoint:
        from ..engines.openai_http import normalize_endpoint

        endpoint = normalize_endpoint(endpoint)
    if compare:
        from ..bench.server import require_server

        require_server()
    workload = Workload(depths=_ints(depths, DEFAULT_DEPTHS, 0, "--depth"), prompt_tokens=prompt_tokens,
                        gen_tokens=gen_tokens, reps=reps, warmup=warmup)
    configs = _configs(models, endpoint, model_name, api_key, gguf, _ints(threads, (0,), 1, "--threads") or (0,),
                       cache_type or ("f16",), [f == "on" for f in flash_attn] or [False],
                       _ints(batch, (512,), 1, "--batch"), _ints(ubatch, (512,), 1, "--ubatch"))
    err = console(stderr=True)
    with Store.open() as store:
        with err.status("Reading this machine (memory bandwidth is measured once and stored)..."):
            info = probe_machine(store, usage=False)
        sweep = Sweep()
        runners: dict[str, object] = {}
        servers = []
        if compare:
            from dataclasses import replace

            from ..bench.http import HTTPRunner
            from ..bench.server import LlamaServer
            from ..machine.cpu import default_threads
            from ..models.gguf_header import read_header

            expanded = []
            for c in configs:
                limit = int(read_header(c.model).arch_field("context_length", 0) or 0) or 1 << 30
                kept, _ = plan_depths(workload, limit)
                # 256 cells of slack: the server's prompt text is sized in words, not tokens
                n_ctx = context_for(kept, workload) + 256
                with err.status(f"Starting llama_cpp.server for {c.label}..."):
                    server = LlamaServer(c, n_ctx, c.threads or default_threads()).__enter__()
                servers.append(server)
                http = replace(c, engine="http", endpoint=server.endpoint, label=c.label + " (server)",
                               gguf=c.model, model="bench")
                runners[http.label] = HTTPRunner(http, pid=server.pid, load_s=server.load_s)
                expanded += [c, http]
            configs = expanded
        try:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"),
                          TimeRemainingColumn(), console=err, transient=True) as progress:
                task = progress.add_task("benchmarking", total=steps(configs, workload))
                run_sweep(configs, workload, store=store, machine_fingerprint=info.fingerprint,
                          bandwidth=BandwidthFigure(info.bandwidth_bytes_per_s,
                                                    remeasure=lambda: remeasure_bandwidth(store, info)),
                          progress=lambda n: progress.advance(task, n),
                          runners=runners, sweep=sweep)
        except KeyboardInterrupt:
            _emit(sweep, as_json, as_csv, compare)
            err.print(f"Interrupted: {len(sweep.results)} finished result(s) are stored (sweep {sweep.sweep_id}).")
            sys.exit(130)
        except InhouseError as exc:
            if sweep.results:
                _emit(sweep, as_json, as_csv, compare)
            raise InhouseError(f"{exc} {len(sweep.results)} result(s) finished before this are stored "
                               f"(sweep {sweep.sweep_id}).") from exc
        finally:
            for server in servers:
                server.__exit__(None, None, None)
    _emit(sweep, as_json, as_csv, compare)


def _emit(sweep, as_json: bool, as_csv: bool, compare: bool) -> None:
    if as_json:
        return echo_json({"sweep_id": sweep.sweep_id, "results": [r.to_dict() for r in sweep.results]})
    if as_csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS + ["settings"], extrasaction="ignore")
        writer.writeheader()
        for r in sweep.results:
            row = r.to_dict()
            row["settings"] = " ".join(f"{k}={v}" for k, v in r.settings.items() if k not in ("api_key",))
            writer.writerow(row)
        return click.echo(buf.getvalue(), nl=False)
    out = console()
    _print_results(out, sweep.results)
    if compare:
        _print_compare(out, sweep.results)

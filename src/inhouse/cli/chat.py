"""``inhouse chat``: one prompt, the reply streamed to the terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click


@contextmanager
def _end_line_on_interrupt(streamed):
    """After Ctrl-C, end the reply's line so that "Interrupted." starts a line of its own."""
    try:
        yield
    except KeyboardInterrupt:
        if streamed():
            click.echo()
        raise


@click.command()
@click.argument("prompt")
@click.option("--model", "-m", help="Model name (see `inhouse models`) or .gguf path; with --endpoint, the server's model name.")
@click.option("--endpoint", help="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080.")
@click.option("--api-key", envvar="INHOUSE_API_KEY", help="API key for --endpoint (or INHOUSE_API_KEY).")
@click.option("--system", help="System prompt.")
@click.option("--max-tokens", default=512, show_default=True, type=click.IntRange(1))
@click.option("--temperature", default=0.0, show_default=True, type=click.FloatRange(0.0))
@click.option("--ctx", type=click.IntRange(16),
              help="Context length for an in-process model [default: the model's, at most 4096]; a warning "
                   "above the length it was trained for, an error beyond llama.cpp's limit or this machine's memory.")
@click.option("--threads", type=click.IntRange(1), help="CPU threads for an in-process model [default: one per physical core].")
@click.option("--stats/--no-stats", default=False, help="Print token counts and speed to stderr afterwards.")
def chat(prompt, model, endpoint, api_key, system, max_tokens, temperature, ctx, threads, stats) -> None:
    """Send PROMPT to a model and stream the reply.

    \b
    inhouse chat "Write a Python function that reverses a string"
    inhouse chat "Explain this regex: ^a+$" --endpoint http://127.0.0.1:11434 -m qwen2.5-coder:7b
    """
    from ..engines import ChatRequest, ReasoningDelta, Started, TextDelta, ToolCall, Usage, open_engine
    from ..store import Store

    if endpoint and (ctx or threads):
        raise click.UsageError("--ctx and --threads set up an in-process model; a server at --endpoint has its own.")
    with Store.open() as store:
        engine = open_engine(model, endpoint=endpoint, api_key=api_key, n_ctx=ctx, n_threads=threads, store=store)
    for warning in getattr(engine, "warnings", []):
        click.echo(f"Warning: {warning}", err=True)
    request = ChatRequest.from_prompt(prompt, system=system, max_tokens=max_tokens, temperature=temperature)
    started = first = last = None
    usage = None
    n_pieces = 0
    with engine, _end_line_on_interrupt(lambda: n_pieces > 0):
        for ev in engine.generate(request):
            if isinstance(ev, Started):
                started = ev.t
            elif isinstance(ev, (TextDelta, ReasoningDelta)):
                first = first or ev.t
                last = ev.t
                n_pieces += 1
                if isinstance(ev, ReasoningDelta):
                    click.secho(ev.text, nl=False, dim=True)
                else:
                    click.echo(ev.text, nl=False)
                sys.stdout.flush()
            elif isinstance(ev, ToolCall):
                click.echo(f"\n[tool call] {ev.name}({ev.arguments})", nl=False)
            elif isinstance(ev, Usage):
                usage = ev
    click.echo()
    sys.stdout.flush()
    if stats and started is not None:
        parts = []
        if first is not None:
            parts.append(f"first token after {first - started:.3f} s")
        if usage is not None:
            parts.append(f"{usage.prompt_tokens} prompt + {usage.completion_tokens} reply tokens")
            if first is not None and last is not None and usage.completion_tokens > 1 and last > first:
                parts.append(f"{(usage.completion_tokens - 1) / (last - first):.1f} tokens/s after the first")
        click.echo("; ".join(parts), err=True)

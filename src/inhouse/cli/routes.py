"""``inhouse routes``: what the gateway did with the requests it received, from its ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from ._render import console, echo_json


def _money(x: float | None) -> str:
    return "-" if x is None else f"${x:.4f}"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.0f} ms"


def _local_time(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


@click.command()
@click.option("--since", default="today", show_default=True, metavar="SPAN",
              help="today, all, or a span back from now such as 7d or 24h.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--explain", "explain_id", metavar="ID", help="Show one request's routing decision (an id or 6+ "
                                                            "characters of one).")
@click.option("--last", default=10, show_default=True, type=click.IntRange(0, 1000),
              help="How many of the latest requests to list.")
def routes(since: str, as_json: bool, explain_id: str | None, last: int) -> None:
    """Summarise the requests `inhouse serve` routed: kept local, fallbacks, failures, money saved."""
    from ..gateway.ledger import Ledger, parse_since
    from ..store import Store

    with Store.open() as store, Ledger(store) as ledger:
        if explain_id:
            row = ledger.explain(explain_id)
            if as_json:
                echo_json(row)
            else:
                _render_explain(row)
            return
        start = parse_since(since)
        summary = ledger.summary(start)
        recent = ledger.recent(last, start)
    if as_json:
        echo_json({**summary, "recent": recent})
        return
    _render_summary(summary, recent, "all time" if start is None else f"since {start:%Y-%m-%d %H:%M}")


def _render_summary(s: dict[str, Any], recent: list[dict[str, Any]], period: str) -> None:
    from rich import box
    from rich.table import Table

    out = console()
    if not out.is_terminal:
        out.width = 120  # piped or captured: do not squeeze the tables to 80 columns
    out.print(f"[bold]Gateway requests, {period}[/]")
    if not s["requests"]:
        out.print("No requests. Start the gateway with `inhouse serve`, or widen the span with --since 7d or all.")
        return
    out.print(f"requests      {s['requests']}: {s['served']} served, {s['failures']} failed, "
              f"{s['rejected']} rejected by the gateway, {s['client_closed']} closed by the client")
    if s["served"]:
        out.print(f"kept local    {s['kept_local']} of {s['served']} served ({s['kept_local_share'] * 100:.1f}%)")
    out.print(f"fallbacks     {s['fallbacks']} request(s) skipped at least one backend")
    tokens = f"tokens        {s['prompt_tokens']} prompt, {s['completion_tokens']} completion"
    if s["reasoning_tokens"]:
        tokens += f" (of which {s['reasoning_tokens']} reasoning)"
    out.print(tokens)
    notes = []
    if s["tokens_counted_locally"]:
        notes.append(f"{s['tokens_counted_locally']} counted with the local tokenizer (the backend sent no usage)")
    if s["tokens_not_counted"]:
        notes.append(f"{s['tokens_not_counted']} served request(s) without token counts")
    if notes:
        out.print("              " + "; ".join(notes))
    saved = f"money saved   {_money(s['saved_usd'])} at the price of the cloud models the clients asked for"
    if s["kept_local_unpriced"]:
        saved += f" ({s['kept_local_unpriced']} local request(s) asked for a model with no price)"
    out.print(saved)
    out.print(f"spent         {_money(s['cloud_cost_usd'])} on cloud backends (at list price)")
    if s["tool_repairs"]:
        out.print(f"tool repairs  {s['tool_repairs']} tool call(s) written as text turned into structured calls")

    if s["backends"]:
        t = Table(title="Per backend", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("backend", "kind", "requests", "served", "failed", "skipped", "in tok", "out tok",
                    "TTFT p50", "saved"):
            t.add_column(col, justify="left" if col in ("backend", "kind") else "right", no_wrap=True)
        for name, b in sorted(s["backends"].items()):
            t.add_row(name, b["kind"] or "-", str(b["requests"]), str(b["served"]), str(b["failures"]),
                      str(b["skipped"]), str(b["prompt_tokens"]), str(b["completion_tokens"]),
                      _ms(b["ttft_p50_s"]), _money(b["saved_usd"]))
        out.print(t)
    if recent:
        t = Table(title="Latest requests (inhouse routes --explain ID)", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
        for col in ("id", "time", "model asked", "backend", "status", "duration"):
            t.add_column(col, justify="right" if col == "duration" else "left", no_wrap=col != "model asked")
        for r in recent:
            t.add_row(r["id"][:12], _local_time(r["created_at"]), r["requested_model"] or "-", r["backend"] or "-",
                      r["status"], _ms(r["duration_s"]))
        out.print(t)


def _render_explain(r: dict[str, Any]) -> None:
    out = console()
    out.print(f"[bold]Request {r['id']}[/]  {_local_time(r['created_at'])}")
    out.print(f"client        {r['client_protocol']} protocol, asked for {r['requested_model'] or '-'}"
              + (f", session {r['session']}" if r["session"] else ""))
    out.print(f"route         {r['route'] or '-'}")
    for reason in r["reasons"]:
        out.print(f"  because     {reason}")
    for f in r["fallbacks"]:
        extra = {k: v for k, v in f.items() if k not in ("backend", "reason")}
        detail = ", ".join(f"{k} {v}" for k, v in extra.items() if v is not None)
        out.print(f"skipped       {f['backend']}: {f.get('reason', '-')}" + (f" ({detail})" if detail else ""))
    served = (f"{r['backend']} ({r['kind'] or '-'}), model {r['backend_model'] or '-'}" if r["backend"]
              else "no backend")
    out.print(f"served by     {served}")
    out.print(f"outcome       {r['status']}" + (f", HTTP {r['http_status']}" if r["http_status"] else "")
              + (f": {r['error']}" if r["error"] else ""))
    if r["tokens_counted"]:
        line = f"tokens        {r['prompt_tokens'] if r['prompt_tokens'] is not None else '-'} prompt, " \
               f"{r['completion_tokens'] if r['completion_tokens'] is not None else '-'} completion"
        if r["reasoning_tokens"]:
            line += f" (of which {r['reasoning_tokens']} reasoning)"
        out.print(line + f", counted by the {r['tokens_counted']}")
    else:
        out.print("tokens        not counted")
    out.print(f"time          first byte {_ms(r['ttft_s'])}, whole request {_ms(r['duration_s'])}")
    if r["tool_repairs"]:
        out.print(f"tool repairs  {r['tool_repairs']}")
    out.print(f"cost          {_money(r['cost_usd'])} at the price of {r['requested_model'] or '-'}"
              + (f", saved {_money(r['saved_usd'])}" if r["saved_usd"] is not None else ""))

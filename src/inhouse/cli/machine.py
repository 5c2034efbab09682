"""``inhouse machine``: RAM, cgroup limit, CPU, GPUs, memory bandwidth and who uses the memory."""

from __future__ import annotations

import click

from ._render import console, echo_json, fmt_bytes


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--refresh", is_flag=True, help="Measure memory bandwidth again instead of using the stored figure.")
def machine(as_json: bool, refresh: bool) -> None:
    """Describe this machine as local models see it."""
    from ..machine.probe import probe_machine
    from ..store import Store

    with Store.open() as store:
        info = probe_machine(store, refresh_bandwidth=refresh)
    if as_json:
        echo_json(info.to_dict())
        return
    out = console()
    m = info.memory
    out.print(f"[bold]{info.hostname}[/]  {info.os} {info.arch}")
    out.print(f"CPU      {info.cpu_model}: {info.physical_cores} cores, {info.logical_threads} threads "
              f"(inhouse uses {info.default_threads} threads by default)")
    out.print(f"ISA      {', '.join(info.isa) or 'none detected'}")
    out.print(f"RAM      {fmt_bytes(m.total_bytes)} total, {fmt_bytes(m.available_bytes)} available")
    if m.cgroup_limit_bytes is not None:
        out.print(f"cgroup   limit {fmt_bytes(m.cgroup_limit_bytes)}, in use {fmt_bytes(m.cgroup_usage_bytes)}")
    if m.swap_total_bytes:
        out.print(f"swap     {fmt_bytes(m.swap_total_bytes)} total, {fmt_bytes(m.swap_free_bytes)} free")
    else:
        out.print("swap     none")
    if info.gpus:
        for g in info.gpus:
            out.print(f"GPU {g.index}    {g.name}: {fmt_bytes(g.total_bytes)} total, {fmt_bytes(g.free_bytes)} free")
    else:
        out.print(f"GPU      none ({info.gpu_note})")
    if info.bandwidth_bytes_per_s:
        out.print(f"memory bandwidth  {bandwidth_line(info)}")
    if info.apps:
        out.print("\n[bold]Memory held by other applications[/]")
        for a in info.apps:
            out.print(f"  {a.name:<28} {fmt_bytes(a.bytes):>11}  {a.processes} process(es), {a.measure.upper()}")
    if info.docker is not None:
        out.print(f"\n{info.docker.note}")
        for c in info.docker.containers:
            out.print(f"  {c['name']:<28} {fmt_bytes(c['memory_bytes']):>11}  {c['image']}")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "at an unknown time"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def bandwidth_line(info) -> str:
    """``47.3 GB/s read (best of 5 passes; passes 41.0 / 45.2 / 47.3 GB/s min / median / max;
    measured 3 days ago, machine quiet (CPU 4% busy); --refresh to re-measure)``"""
    d = info.bandwidth_details or {}
    parts = []
    if d.get("passes"):
        parts.append(f"best of {d['passes']} passes")
    if d.get("min_bytes_per_s") and d.get("max_bytes_per_s"):
        parts.append(f"passes {d['min_bytes_per_s'] / 1e9:.1f} / {d['median_bytes_per_s'] / 1e9:.1f} / "
                     f"{d['max_bytes_per_s'] / 1e9:.1f} GB/s min / median / max")
    when = "measured now" if not info.bandwidth_cached else f"measured {_age(info.bandwidth_age_s)}"
    if d.get("quiet") is True:
        when += f", machine quiet (CPU {d['busy_cpu_percent']:.0f}% busy)"
    elif d.get("quiet") is False:
        when += (f", [yellow]machine busy (CPU {d['busy_cpu_percent']:.0f}% busy): the figure may be low; "
                 "--refresh when it is idle[/]")
    elif info.bandwidth_cached:
        when += ", machine load not recorded"
    parts.append(when)
    return f"{info.bandwidth_bytes_per_s / 1e9:.1f} GB/s read ({'; '.join(parts)}; --refresh to re-measure)"

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
        how = f"stored, measured {info.bandwidth_measured_at}" if info.bandwidth_cached else "measured now"
        out.print(f"memory bandwidth  {info.bandwidth_bytes_per_s / 1e9:.1f} GB/s read ({how}; --refresh to re-measure)")
    if info.apps:
        out.print("\n[bold]Memory held by other applications[/]")
        for a in info.apps:
            out.print(f"  {a.name:<28} {fmt_bytes(a.bytes):>11}  {a.processes} process(es), {a.measure.upper()}")
    if info.docker is not None:
        out.print(f"\n{info.docker.note}")
        for c in info.docker.containers:
            out.print(f"  {c['name']:<28} {fmt_bytes(c['memory_bytes']):>11}  {c['image']}")

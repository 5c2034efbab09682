"""``inhouse serve``: the local-first gateway (OpenAI and Anthropic APIs) in front of the backends."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Gateway config (TOML). Without one: the default model as the only, local, backend.")
@click.option("--host", help="Address to listen on [default: the config's, else 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), help="Port [default: the config's, else 8765].")
@click.option("--api-key", help="Key clients must send (x-api-key or Authorization: Bearer); "
                                "required off loopback [default: $INHOUSE_API_KEY].")
@click.option("--ledger/--no-ledger", default=True, show_default=True, help="Write one ledger row per request.")
def serve(config_path, host, port, api_key, ledger) -> None:
    """Serve local and cloud models behind one OpenAI- and Anthropic-compatible endpoint.

    \b
    inhouse serve                                # the default model on http://127.0.0.1:8765
    inhouse serve --config gateway.toml
    ANTHROPIC_BASE_URL=http://127.0.0.1:8765 claude
    """
    from ..gateway import app as gw
    from ..gateway.config import ConfigWatcher, default_config, load_config

    config = load_config(config_path) if config_path else default_config()
    host = host or config.server.host
    port = config.server.port if port is None else port
    api_key = api_key or os.environ.get(config.server.api_key_env or "INHOUSE_API_KEY") or None
    gw.check_bind(host, api_key)
    led = None
    if ledger:
        led = _open_ledger()
    click.echo("Starting local backends...", err=True)
    servers = gw.start_local_servers(config)
    from ..store import Store

    store = Store.open()  # capability rules read the eval runs stored here, at start and on reload
    gateway = None
    try:
        gateway = gw.Gateway(config, api_key=api_key, ledger=led, local_servers=servers, store=store,
                             backend_urls={name: s.endpoint for name, s in servers.items()},
                             local_models={name: s.alias for name, s in servers.items()},
                             local_paths={name: str(s.plan.path) for name, s in servers.items()},
                             watcher=ConfigWatcher(config_path, config=config) if config_path else None)
        names = ", ".join(f"{b.name} ({b.kind})" for b in config.backends)
        click.echo(f"inhouse serve: http://{host}:{port}  backends: {names}", err=True)
        gw.run(gateway, host, port)
    finally:
        # the ones a config reload started are the gateway's too
        gw.stop_local_servers({**servers, **(gateway.local_servers if gateway is not None else {})})
        store.close()


def _open_ledger():
    try:
        from ..gateway.ledger import Ledger
    except ImportError:
        return None
    from ..store import Store

    return Ledger(Store.open())

"""``inhouse scan``: run the gateway's privacy scanner on a request body or any text."""

from __future__ import annotations

import json
import sys

import click

from ._render import console, echo_json


def _load_rules(path: str | None):
    from ..errors import ConfigError
    from ..gateway.privacy import PrivacyRules

    if not path:
        return PrivacyRules()
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror}); check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}; fix the TOML syntax") from None
    policy = data.get("policy", {})
    table = policy.get("privacy", {}) if isinstance(policy, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [policy.privacy] must be a table; fix the config file")
    return PrivacyRules.from_config(table, source=f"{path}: [policy.privacy]")


@click.command("scan")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="surrogateescape"))
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Serve config whose [policy.privacy] rules apply (default: built-in detectors only).")
@click.option("--protocol", type=click.Choice(["auto", "openai", "anthropic"]), default="auto",
              show_default=True, help="How to read a JSON request body.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def scan(file, config_path, protocol, as_json) -> None:
    """Scan FILE (or - for stdin) the way `inhouse serve` scans each request: a JSON request body
    (OpenAI or Anthropic) is walked field by field, anything else is scanned as text. Prints each
    finding's kind, position and rule, never the value. Exits 0 when nothing private was found,
    1 when something was (or the scan failed)."""
    from ..gateway.privacy import ScanResult, Scanner

    scanner = Scanner(_load_rules(config_path))
    text = file.read()
    body = None
    try:
        body = json.loads(text)
    except ValueError:
        pass
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        proto = protocol if protocol != "auto" else _guess_protocol(body)
        result = scanner.scan_request(proto, body)
        what = f"{proto} request"
    else:
        proto, what = None, "text"
        try:
            findings = scanner.scan_text(text)
            result = ScanResult(bool(findings), findings,
                                ("local" if any(f.mode == "local" for f in findings) else "redact") if findings else None)
        except Exception as exc:  # fail closed, as the gateway does
            result = ScanResult(True, [], "local", f"scan failed: {type(exc).__name__}: {exc}"[:300])
    if as_json:
        echo_json({"input": what, **result.to_dict()})
    else:
        _render(result, what)
    sys.exit(1 if result.private else 0)


def _guess_protocol(body: dict) -> str:
    if "system" in body or "max_tokens" in body and not any(
            isinstance(m, dict) and m.get("role") in ("system", "tool") for m in body["messages"]):
        return "anthropic"
    return "openai"


def _render(result, what: str) -> None:
    from rich.table import Table

    out = console()
    if result.error:
        out.print(f"[bold red]PRIVATE[/] ({what}): the scan failed, so it counts as private: {result.error}")
        return
    if not result.private:
        out.print(f"[green]not private[/] ({what}): no findings")
        return
    table = Table("kind", "position", "span", "rule", "decoded", "mode")
    for f in result.findings:
        table.add_row(f.kind, f.location, f"{f.start}-{f.end}", f.rule, f.via or "-", f.mode)
    out.print(table)
    n = len(result.findings)
    out.print(f"[bold red]PRIVATE[/] ({what}): {n} finding{'s' if n != 1 else ''}, mode {result.mode}")

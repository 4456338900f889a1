"""``monitor feeds``: the configured feeds and their health."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from monitor.cli.app import app, get_config
from monitor.cli.service import open_store

feeds_app = typer.Typer(help="Feeds: list them with their health.",
                        invoke_without_command=True)
app.add_typer(feeds_app, name="feeds")


@feeds_app.callback()
def feeds(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List feeds with their health (last success, failures, last error)."""
    if ctx.invoked_subcommand is not None:
        return
    config = get_config(ctx)
    store = open_store(config)
    if config.feeds:
        store.sync_feeds(config.feed_sources())
    health = store.feed_health()
    store.close()
    for h in health:
        if as_json:
            typer.echo(json.dumps({
                "name": h.name, "url": h.url, "status": h.status, "configured": h.configured,
                "last_success": h.last_success_at.isoformat() if h.last_success_at else None,
                "consecutive_failures": h.consecutive_failures, "error": h.last_error_code,
                "message": h.last_error_message, "warning": h.last_warning,
                "entries_seen": h.entries_seen,
            }, ensure_ascii=False))
            continue
        last = h.last_success_at.strftime("%Y-%m-%d %H:%M") if h.last_success_at else "never"
        line = f"{h.status:13} {h.name}  <{h.url}>  last ok: {last}  entries: {h.entries_seen}"
        if h.consecutive_failures:
            line += f"\n{'':13} {h.consecutive_failures} failures, last: {h.last_error_code}: "
            line += (h.last_error_message or "")[:160]
        elif h.last_warning:
            line += f"\n{'':13} warning: {h.last_warning[:160]}"
        typer.echo(line)
    if not health:
        typer.echo("no feeds configured")

"""``monitor notifications`` and ``monitor notify``: the outbox and the channels."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from monitor.cli.app import app, fail, get_config, group
from monitor.cli.output import plural, print_table, when
from monitor.cli.plainhelp import ListingGroup
from monitor.cli.service import open_store
from monitor.text import clean_line

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    pass

notifications_app = group(
    "The outbox: list notifications by status, retry dead ones.",
    invoke_without_command=True, cls=ListingGroup)
app.add_typer(notifications_app, name="notifications")
notify_app = group(
    "Channels: send a test message.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")

Status = Literal["pending", "failed", "held", "digest", "sending", "sent", "dead", "unknown"]


@notifications_app.callback()
def notifications(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(
        "--status", metavar="STATUS", help="pending, failed (unsent after a failed "
        "attempt), held (waiting for a digest), digest, sending (leased), sent, dead, or "
        "unknown (sent without an answer to a destination that cannot drop repeats; not "
        "retried on its own).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", min=1,
                                       help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List outbox rows, newest first (destinations are shown masked)."""
    from monitor.store import Outbox
    if ctx.invoked_subcommand is not None:
        return
    config = get_config(ctx)
    store = open_store(config)
    if as_json:  # a batch at a time: an export of the whole outbox stays small
        try:
            for n in Outbox(store).iter_list(status, limit):
                typer.echo(json.dumps(n.as_json(), ensure_ascii=False))  # as the API
        finally:
            store.close()
        return
    rows = list(Outbox(store).iter_list(status, limit))  # (any --limit: a batch per read)
    store.close()
    if not rows:
        typer.echo("no notifications" + (f" with status {status}" if status else ""))
        return
    print_table(
        ["id", "status", "channel", "destination", "rule", "title", "attempts", "last change"],
        ([str(n.id), n.status, n.channel, n.destination, n.rule_id, _short(n.title, 60),
          str(n.attempts), when(n.sent_at or n.created_at)] for n in rows))
    failed = [n for n in rows if n.last_error]
    for n in failed:
        typer.echo(f"#{n.id} last error: {clean_line(n.last_error or '')[:300]}")


def _short(text: str, size: int) -> str:
    text = clean_line(text)
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


@notifications_app.command("retry")
def retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(
        metavar="ID", help="Notification ids to retry.")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Retry every dead notification.")] = False,
) -> None:
    """Queue dead (or the given) notifications again.

    Each gets a new round of attempts.
    """
    from monitor.store import Outbox
    if not ids and not dead:
        fail("give notification ids or --dead")
    config = get_config(ctx)
    store = open_store(config)
    count = Outbox(store).retry(ids or None, dead=dead)
    store.close()
    asked = len(set(ids or ()))
    if asked and count == 0:
        fail(f"no such notification to queue again: {', '.join(map(str, sorted(set(ids or ()))))}"
             " (an unknown id, or one sent already; see `monitor notifications`)", code=1)
    typer.echo(f"{plural(count, 'notification')} queued again")
    if count < asked:
        fail(f"{asked - count} of the {asked} ids given are unknown or sent already "
             "(see `monitor notifications`)", code=1)


@notify_app.command("test")
def notify_test(
    ctx: typer.Context,
    channel: Annotated[str, typer.Argument(help="A channel name from the configuration.")],
) -> None:
    """Send a test message to every destination of a channel.

    Prints the outcome of each destination.
    """
    from monitor.delivery import default_format, mask_url, render_alert, send, target_kind
    from monitor.models import Alert, Evidence

    config = get_config(ctx)
    if channel not in config.channels:
        known = ", ".join(sorted(config.channels)) or "none configured"
        fail(f"no channel named {channel!r} (channels: {known})")
    settings = config.channels[channel]
    alert = Alert(
        notification_id=0, channel=channel, rule_id="test", rule_name="newsmonitor test",
        title="Test alert from newsmonitor", url="https://example.org/newsmonitor-test",
        source="newsmonitor", published=datetime.now(UTC), language="en",
        evidence=(Evidence(term="test", matched="test", field="title", start=0, end=4,
                           snippet="Test alert from newsmonitor"),),
    )
    failures = 0
    for url in settings.urls:
        fmt = settings.format or default_format(target_kind(url))
        message = render_alert(alert, format=fmt, template=settings.template,
                               max_chars=config.delivery.max_message_chars,
                               target=target_kind(url), webhook=settings.webhook)
        outcome = send(url, message, timeout=config.delivery.send_timeout,
                       allow_private=tuple(config.http.allow_private_networks))
        verdict = "ok" if outcome.ok else f"FAILED: {outcome.error}"
        failures += int(not outcome.ok)
        typer.echo(f"{mask_url(url, config.url_source(url))}: {verdict}")
    raise typer.Exit(1 if failures else 0)

"""``monitor feeds``: the feed list and its health; add, import, export, remove, enable.

Feeds come from two places: monitor.yaml (managed by the file, origin ``config``) and these
commands (origin ``cli``, kept in the database until ``monitor feeds remove``). A running
daemon picks CLI changes up at its next tick: it reads the feed list from the database.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import app, fail, get_config
from monitor.cli.service import open_store
from monitor.errors import FetchError, ParseError

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from monitor.config import Config
    from monitor.models import FeedSource
    from monitor.store import FeedHealth, Store

feeds_app = typer.Typer(
    help="Feeds: list them with their health; add, import, export, remove, enable.",
    invoke_without_command=True)
app.add_typer(feeds_app, name="feeds")

PROGRESS_FROM = 50  # an import of this many feeds or more shows a progress bar
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


@feeds_app.callback()
def feeds(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List feeds with their health (last success, failures, last error, interval)."""
    if ctx.invoked_subcommand is not None:
        return
    config = get_config(ctx)
    store = _synced_store(config)
    health = store.feed_health()
    store.close()
    for h in health:
        if as_json:
            typer.echo(json.dumps({
                "name": h.name, "url": h.url, "status": h.status, "configured": h.configured,
                "origin": h.origin, "disabled": h.disabled_at is not None,
                "last_success": h.last_success_at.isoformat() if h.last_success_at else None,
                "consecutive_failures": h.consecutive_failures, "error": h.last_error_code,
                "message": h.last_error_message, "warning": h.last_warning,
                "entries_seen": h.entries_seen, "interval": h.interval_seconds,
                "poll_interval": h.poll_interval_seconds,
                "next_check": h.next_check_at.isoformat(),
                "paused_until": h.paused_until.isoformat() if h.paused_until else None,
            }, ensure_ascii=False))
            continue
        typer.echo(_describe(h))
    if not health and not as_json:
        typer.echo("no feeds configured")


def _describe(h: FeedHealth) -> str:
    last = h.last_success_at.strftime("%Y-%m-%d %H:%M") if h.last_success_at else "never"
    every = _duration(h.poll_interval_seconds or h.interval_seconds)
    line = (f"{h.status:13} {h.name}  <{h.url}>  last ok: {last}  every {every}  "
            f"entries: {h.entries_seen}" + ("  (added with the CLI)" if h.origin == "cli" else ""))
    if h.disabled_at is not None:
        line += (f"\n{'':13} disabled {h.disabled_at:%Y-%m-%d %H:%M} after {h.last_error_code}; "
                 f"`monitor feeds enable {h.url}` turns it back on")
    if h.consecutive_failures:
        line += f"\n{'':13} {h.consecutive_failures} failures, last: {h.last_error_code}: "
        line += (h.last_error_message or "")[:160]
    elif h.last_warning:
        line += f"\n{'':13} warning: {h.last_warning[:160]}"
    if h.paused_until is not None:
        line += (f"\n{'':13} paused by the server until "
                 f"{h.paused_until:%Y-%m-%d %H:%M:%S %Z}")
    return line


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m" if seconds >= 600 else f"{seconds}s"


@feeds_app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The feed's http(s) URL.")],
    name: Annotated[str | None, typer.Option("--name", help="Shown in alerts (default: the "
                                             "URL).")] = None,
    interval: Annotated[str | None, typer.Option(
        "--interval", help="Starting time between polls, e.g. 15m (default: "
        "polling.default_interval); adaptive polling moves from there.")] = None,
    language: Annotated[str | None, typer.Option(
        "--language", help="Language of the feed's articles (id, en...).")] = None,
    tags: Annotated[list[str] | None, typer.Option(
        "--tag", help="A free label; repeat for several.")] = None,
) -> None:
    """Add a feed (kept in the database until `monitor feeds remove`)."""
    config = get_config(ctx)
    source = _source(config, url, name, interval, language, tags or [])
    store = _synced_store(config)
    result = store.add_feed(source)
    store.close()
    if result == "configured":
        fail(f"{source.url} is configured in {config.source}; change it there")
    verb = {"added": "added", "updated": "updated", "restored": "added again"}[result]
    typer.echo(f"{verb}: {source.name} <{source.url}>")


@feeds_app.command("import")
def import_opml(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An OPML file (as feed readers export).",
                                         dir_okay=False)],
) -> None:
    """Add every feed of an OPML file; feeds already in the list are left as they are."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from monitor.feeds import read_opml

    config = get_config(ctx)
    try:
        listed = read_opml(file.read_bytes())
    except OSError as exc:
        fail(f"{file}: cannot read: {exc.strerror or exc}")
    except ParseError as exc:
        fail(f"{file}: {exc}")
    store = _synced_store(config)
    counts = {"added": 0, "restored": 0, "exists": 0, "configured": 0, "invalid": 0}
    progress = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                        console=Console(stderr=True), transient=True,
                        disable=len(listed) < PROGRESS_FROM)
    with progress:
        task = progress.add_task("import", total=len(listed))
        for feed in listed:
            problem = _url_problem(feed.url)
            if problem is not None:
                progress.console.print(f"monitor: skipped {problem}", markup=False,
                                       highlight=False)
                counts["invalid"] += 1
            else:
                source = _source(config, feed.url, feed.title, None, None, list(feed.tags))
                counts[store.add_feed(source, update_existing=False)] += 1
            progress.advance(task)
    store.close()
    typer.echo(f"{file}: {len(listed)} feeds: {counts['added']} added, "
               f"{counts['restored']} added again, "
               f"{counts['exists'] + counts['configured']} already listed, "
               f"{counts['invalid']} refused")


@feeds_app.command("export")
def export(ctx: typer.Context) -> None:
    """Print the feed list (monitor.yaml and CLI feeds) as OPML on standard output."""
    from monitor.feeds import OpmlFeed, write_opml

    config = get_config(ctx)
    store = _synced_store(config)
    active = list(store.active_feeds())
    store.close()
    web = [h for h in active if h.url.startswith(("http://", "https://"))]
    if len(web) < len(active):  # local files mean nothing to another reader
        typer.echo(f"monitor: {len(active) - len(web)} local-file feed(s) not exported",
                   err=True)
    typer.echo(write_opml(OpmlFeed(url=h.url, title=h.name, tags=h.tags) for h in web)
               .decode("utf-8"), nl=False)


@feeds_app.command("remove")
def remove(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The URL of a feed added with the CLI.")],
) -> None:
    """Stop polling a CLI-added feed; its stored articles and hits are kept."""
    config = get_config(ctx)
    store = _synced_store(config)
    result = store.remove_feed(url.strip())
    store.close()
    if result == "configured":
        fail(f"{url} is configured in {config.source}; remove it there")
    if result == "unknown":
        fail(f"{url} is not in the feed list (`monitor feeds` lists them)", code=1)
    typer.echo(f"removed: {url}")


@feeds_app.command("enable")
def enable(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The URL of a disabled feed.")],
) -> None:
    """Poll a feed again that was disabled after repeated parse failures."""
    config = get_config(ctx)
    store = _synced_store(config)
    result = store.enable_feed(url.strip())
    store.close()
    if result == "unknown":
        fail(f"{url} is not in the feed list (`monitor feeds` lists them)", code=1)
    typer.echo(f"enabled: {url}" if result == "enabled" else f"{url} was not disabled")


def _synced_store(config: Config) -> Store:
    """The store, with the monitor.yaml feeds brought up to date first."""
    store = open_store(config)
    if config.feeds:  # without a file, the embedded defaults list no feeds: change nothing
        store.sync_feeds(config.feed_sources())
    return store


def _source(config: Config, url: str, name: str | None, interval: str | None,
            language: str | None, tags: list[str]) -> FeedSource:
    """A validated feed from command-line values; one clear line and exit 2 otherwise."""
    from monitor.config import parse_duration
    from monitor.models import FeedSource
    from monitor.text import clean_line
    url = url.strip()
    problem = _url_problem(url)
    if problem is not None:
        fail(problem)
    seconds = config.polling.default_interval
    if interval is not None:
        try:
            seconds = parse_duration(interval)
        except ValueError as exc:
            fail(f"--interval: {exc}")
        if seconds < 1:
            fail("--interval: must be at least 1s")
    if language is not None and not _LANGUAGE.match(language):
        fail(f"--language: {language!r} is not a language code such as id or en")
    # Tags are stored comma-separated, so a comma inside one tag would split it.
    clean_tags = tuple(dict.fromkeys(t for t in (clean_line(t).replace(",", " ").strip()
                                                 for t in tags) if t))
    return FeedSource(url=url, name=clean_line(name or "") or url,
                      interval_seconds=int(seconds), tags=clean_tags,
                      language=language.lower() if language else None)


def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a feed (``url: reason``), or None; no network is used."""
    from monitor.net import check_url

    try:
        check_url(url.strip())
    except FetchError as exc:
        return f"{url.strip()}: {exc}"
    return None

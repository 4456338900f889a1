"""``monitor feeds``: the feed list and its health; add, refresh, remove, enable.

Feeds come from two places: monitor.yaml (managed by the file, origin ``config``) and these
commands (origin ``cli``, kept in the database until ``monitor feeds remove``). A running
daemon picks CLI changes up at its next tick: it reads the feed list from the database.
Import and export (OPML) are in :mod:`monitor.cli.feeds_opml`. A URL is printed with its
password and credential query values masked (as the web view shows it), its name too when it
is the URL; only ``monitor feeds export`` writes URLs whole, for another reader to use them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from monitor.cli.app import app, fail, get_config, group
from monitor.cli.output import human_duration, plural, print_table, suggestion, when
from monitor.cli.plainhelp import ListingGroup
from monitor.cli.service import one_cycle, open_store
from monitor.errors import FetchError, NotAFeedError, ParseError
from monitor.language_codes import language_problem, normalize_language

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from monitor.config import Config
    from monitor.models import FeedSource, ParsedFeed
    from monitor.store import FeedHealth, Store

feeds_app = group(
    "Feeds and their health, and commands to manage them.",
    invoke_without_command=True, cls=ListingGroup)
app.add_typer(feeds_app, name="feeds")

Status = Literal["ok", "failing", "degraded", "disabled", "removed", "never"]


@feeds_app.callback()
def feeds(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(
        "--status", metavar="STATUS", help="Only feeds in this state: ok, failing, degraded "
        "(read with warnings), disabled, removed or never (polled).")] = None,
    tag: Annotated[str | None, typer.Option(
        "--tag", metavar="TAG", help="Only feeds with this tag.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List feeds with their health.

    Last success, consecutive failures, last error and the interval in force.
    """
    if ctx.invoked_subcommand is not None:
        return
    config = get_config(ctx)
    store = _synced_store(config)
    health = store.feed_health()
    store.close()
    wanted = "never polled" if status == "never" else status
    shown = [h for h in health if (wanted is None or h.status == wanted)
             and (tag is None or tag in h.tags)]
    if as_json:
        for h in shown:
            typer.echo(json.dumps(_json(h), ensure_ascii=False))
        return
    if not shown:
        typer.echo("no feeds" + (" configured" if not health else " match"))
        return
    print_table(
        ["status", "name", "url", "last ok", "every", "entries", "from", "tags"],
        ([h.status, _shown(h.name), _shown(h.url), when(h.last_success_at, "never"),
          human_duration(h.poll_interval_seconds or h.interval_seconds), str(h.entries_seen),
          "cli" if h.origin == "cli" else "file", ", ".join(h.tags)] for h in shown))
    notes = [line for h in shown for line in _notes(h)]
    if notes:
        typer.echo("")
    for line in notes:
        typer.echo(line)


def _json(h: FeedHealth) -> dict[str, object]:
    return {
        "name": _shown(h.name), "url": _shown(h.url), "status": h.status,
        "configured": h.configured,
        "origin": h.origin, "disabled": h.disabled_at is not None, "tags": list(h.tags),
        "last_success": h.last_success_at.isoformat() if h.last_success_at else None,
        "consecutive_failures": h.consecutive_failures, "error": h.last_error_code,
        "message": h.last_error_message, "warning": h.warning,
        "entries_seen": h.entries_seen, "interval": h.interval_seconds,
        "poll_interval": h.poll_interval_seconds,
        "next_check": h.next_check_at.isoformat(),
        "paused_until": h.paused_until.isoformat() if h.paused_until else None,
    }


def _notes(h: FeedHealth) -> list[str]:
    """What a person should know about one feed, below the table."""
    notes = []
    name = _shown(h.name)
    if h.disabled_at is not None:
        notes.append(f"{name}: disabled {when(h.disabled_at)} after {h.last_error_code}; "
                     f"monitor feeds enable {_shown(h.url)} turns it back on")
    if h.consecutive_failures:
        notes.append(f"{name}: {plural(h.consecutive_failures, 'failure')}, last: "
                     f"{h.last_error_code}: {(h.last_error_message or '')[:200]}")
    elif h.warning:
        notes.append(f"{name}: warning: {h.warning[:300]}")
    if h.paused_until is not None:
        notes.append(f"{name}: paused by the server (Retry-After) until "
                     f"{when(h.paused_until)}")
    return notes


@feeds_app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(
        help="The feed's http(s) URL, or a web page that advertises its feed.")],
    name: Annotated[str | None, typer.Option(
        "--name", help="Shown in alerts (default: the feed's title; with --no-fetch, "
        "its URL).")] = None,
    interval: Annotated[str | None, typer.Option(
        "--interval", metavar="DURATION", help="Starting time between polls, e.g. 15m "
        "(default: polling.default_interval); adaptive polling moves from there.")] = None,
    language: Annotated[str | None, typer.Option(
        "--language", metavar="CODE", help="Language of the feed's articles (id, en...).")
    ] = None,
    tags: Annotated[list[str] | None, typer.Option(
        "--tag", metavar="TAG", help="A free label; repeat for several.")] = None,
    no_fetch: Annotated[bool, typer.Option(
        "--no-fetch", help="Add it without fetching it first (e.g. offline).")] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Add the feed a web page advertises without asking.")] = False,
) -> None:
    """Fetch a feed once, show what it holds, and add it.

    Shows the feed's title and item count. Given a web page, finds the feed the page
    advertises (autodiscovery) and offers it. The feed is kept in the database until
    monitor feeds remove.
    """
    config = get_config(ctx)
    source = _source(config, url, name, interval, language, tags or [])
    if source.url in {f.url for f in config.feed_sources()}:
        fail(f"{_shown(source.url)} is configured in {config.source}; change it there "
             "(a running daemon follows the file)")
    store = _synced_store(config)
    summary = ""
    if not no_fetch:
        final_url, parsed = _probe(config, source.url, yes=yes, store=store)
        title = (parsed.title or "").strip()
        source = replace(source, url=final_url, name=source.name if name else (
            title or final_url))
        items = plural(len(parsed.entries), "item")
        summary = (f" (titled {title!r}, {items})" if name and title and title != name
                   else f" ({items})")
    existing = next((h for h in store.feed_health() if h.url == source.url
                     and h.configured and h.origin == "cli"), None)
    changes: list[str] = []
    if existing is not None:  # adding again changes only what was given
        source = replace(
            source, name=source.name if name else existing.name,
            interval_seconds=(source.interval_seconds if interval is not None
                              else existing.interval_seconds),
            tags=source.tags if tags else existing.tags,
            language=source.language if language is not None else existing.language)
        changes = _changes(existing, source)
    result = store.add_feed(source)
    store.close()
    shown = f"{_shown(source.name)} <{_shown(source.url)}>"
    if result == "configured":
        fail(f"{_shown(source.url)} is configured in {config.source}; change it there "
             "(a running daemon follows the file)")
    if result == "updated":
        typer.echo(f"updated: {shown}: {'; '.join(changes)}{summary}"
                   if changes else f"unchanged: {shown}{summary} (added "
                   "already; --name, --interval, --language and --tag change it)")
        return
    verb = {"added": "added", "restored": "added again"}[result]
    typer.echo(f"{verb}: {shown}{summary}")
    if not no_fetch and not config.http.resolve_google_news and _google_news(parsed):
        typer.echo("note: its items link to Google News, which names no publisher page: they "
                   "are matched on their headlines; http.resolve_google_news: true matches "
                   "the publishers' full texts (see the README)", err=True)


def _google_news(parsed: ParsedFeed) -> bool:
    """Whether the feed's items link to Google News pages only Google can resolve."""
    from monitor.net import google_news_article_id
    return any(google_news_article_id(e.url or "") for e in parsed.entries)


def _changes(before: FeedHealth, after: FeedSource) -> list[str]:
    """What adding a feed again changes, in words (``name 'A' -> 'B'``...)."""
    changes = []
    if before.name != after.name:
        changes.append(f"name {_shown(before.name)!r} -> {_shown(after.name)!r}")
    if before.interval_seconds != after.interval_seconds:
        changes.append(f"interval {human_duration(before.interval_seconds)} -> "
                       f"{human_duration(after.interval_seconds)}")
    if tuple(before.tags) != tuple(after.tags):
        changes.append(f"tags {', '.join(before.tags) or '(none)'} -> "
                       f"{', '.join(after.tags) or '(none)'}")
    if before.language != after.language:
        changes.append(f"language {before.language or '(none)'} -> {after.language or '(none)'}")
    return changes


def _probe(config: Config, url: str, *, yes: bool, store: Store) -> tuple[str, ParsedFeed]:
    """Fetch and parse ``url`` once; for a web page, the feed it advertises (asking first)."""
    from monitor.feeds import discover_feeds, parse_feed
    from monitor.models import NotModified
    from monitor.net import Fetcher

    fetcher = Fetcher(config.http)
    try:
        for _ in range(2):  # the URL given, then (for a page) the feed it advertises
            try:
                body = fetcher.fetch_feed(url)
            except FetchError as exc:
                store.close()
                fail(f"{_shown(url)}: {exc.code}: {exc}; not added (--no-fetch adds it "
                     "unchecked)", code=1)
            if isinstance(body, NotModified):  # not conditional: only a broken server
                store.close()
                fail(f"{_shown(url)}: answered 304 Not Modified to a plain GET; not added", code=1)
            try:
                return body.url, parse_feed(body.content, url=body.url,
                                            content_type=body.content_type,
                                            headers=body.headers)
            except NotAFeedError:
                links = discover_feeds(body.content, body.url)
            except ParseError as exc:
                store.close()
                fail(f"{_shown(url)}: not a readable feed: {exc}; not added", code=1)
            if not links:
                store.close()
                fail(f"{_shown(url)}: a web page that advertises no feed; not added", code=1)
            typer.echo(f"{_shown(url)} is a web page; it advertises "
                       f"{plural(len(links), 'feed')}:")
            for number, link in enumerate(links, 1):
                typer.echo(f"  {number}. {link.title or '(untitled)'} <{_shown(link.url)}>")
            url = links[0].url
            if not yes and not typer.confirm(f"Add {_shown(url)}?", default=True):
                store.close()
                fail("not added", code=1)
        store.close()
        fail(f"{_shown(url)}: not a feed either; not added", code=1)
    finally:
        fetcher.close()


@feeds_app.command("refresh")
def refresh(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Argument(help="The feed to poll now.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Poll every active feed now.")] = False,
) -> None:
    """Poll a feed (or --all) now, ignoring its back-off.

    Polls in this process, then prints each feed's state. A feed that a server asked to
    wait (429, 503) is polled too. Disabled feeds need monitor feeds enable first.
    """
    from monitor.daemon import build_service, install_stop_handlers

    if (url is None) == (not every):
        fail("give a feed URL or --all")
    config = get_config(ctx)
    store = _synced_store(config)
    if url is not None:
        url = _known_feed(store, config, url)
    urls = store.refresh_feeds(None if every else [url or ""])
    store.close()
    if not urls:
        fail(f"{_shown(url)} is disabled; monitor feeds enable {_shown(url)} turns it back on"
             if url else "no active feeds", code=1)
    stop = threading.Event()
    install_stop_handlers(stop)  # SIGTERM, Ctrl-C: as for run --once, within its grace
    one_cycle(build_service(config, stop=stop), announce=False)
    store = open_store(config)
    health = {h.url: h for h in store.feed_health()}
    store.close()
    for polled in urls:
        h = health[polled]
        state = h.status if not h.consecutive_failures else (
            f"failed: {h.last_error_code}: {(h.last_error_message or '')[:200]}")
        typer.echo(f"{_shown(h.name)} <{_shown(h.url)}>: {state}, "
                   f"{plural(h.entries_seen, 'entry', 'entries')} seen, next poll in "
                   f"{human_duration(_seconds_until(h.next_check_at))}")


def _seconds_until(moment: object) -> float:
    from datetime import UTC, datetime
    assert isinstance(moment, datetime)
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return max(0.0, (aware - datetime.now(UTC)).total_seconds())


@feeds_app.command("remove")
def remove(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The URL of a feed added with the CLI.")],
) -> None:
    """Stop polling a feed added with the command line.

    Its stored articles and hits are kept.
    """
    config = get_config(ctx)
    store = _synced_store(config)
    url = _known_feed(store, config, url)
    result = store.remove_feed(url)
    store.close()
    if result == "configured":
        fail(f"{_shown(url)} is configured in {config.source}; remove it there "
             "(a running daemon follows the file)")
    typer.echo(f"removed: {_shown(url)}")


@feeds_app.command("enable")
def enable(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The URL of a disabled feed.")],
) -> None:
    """Poll a feed again that was disabled after parse failures."""
    config = get_config(ctx)
    store = _synced_store(config)
    url = _known_feed(store, config, url)
    result = store.enable_feed(url)
    store.close()
    typer.echo(f"enabled: {_shown(url)}" if result == "enabled"
               else f"{_shown(url)} was not disabled")


def _known_feed(store: Store, config: Config, url: str) -> str:
    """The feed list's spelling of ``url``; exit 2 with a suggestion when it is not there.

    A local feed is listed by its absolute path: the path as ``monitor.yaml`` writes it
    (relative to that file) or as typed here (relative to the current folder) names it too.
    """
    url = url.strip()
    known = [h.url for h in store.feed_health() if h.status != "removed"]
    spellings = [url] if "://" in url else [
        url, str(config.resolve(url).resolve()), str(Path(url).resolve())]
    found = next((s for s in spellings if s in known), None)
    if found is None:
        store.close()
        # Both masked: the suggestion must not complete a token the typed URL lacks.
        fail(f"{_shown(url)} is not in the feed list"
             f"{suggestion(_shown(url), [_shown(k) for k in known], 0.85)}; "
             "monitor feeds lists them")
    return found


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
    if language is not None and (problem := language_problem(language)) is not None:
        fail(f"--language: {problem}")
    # Tags are stored comma-separated, so a comma inside one tag would split it.
    clean_tags = tuple(dict.fromkeys(t for t in (clean_line(t).replace(",", " ").strip()
                                                 for t in tags) if t))
    return FeedSource(url=url, name=clean_line(name or "") or url,
                      interval_seconds=int(seconds), tags=clean_tags,
                      language=normalize_language(language))


def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a feed (``url: reason``), or None; no network is used."""
    from monitor.models import MAX_URL_CHARS
    from monitor.net import url_problem

    url = url.strip()
    if (problem := url_problem(url)) is not None:
        if url.lower().startswith("file:") or ("://" not in url and Path(url).is_file()):
            # Feeds kept in the database are fetched, never read from disk: a file is trusted
            # only where the operator wrote it down, in the configuration.
            return (f"{_shown(url)}: a local file is a feed only in the configuration file "
                    "(feeds: - url: PATH); the command line adds http(s) feeds")
        return f"{_shown(url)}: {problem}"  # the password masked
    if len(url) > MAX_URL_CHARS:  # PostgreSQL's column refuses it (a traceback, mid-import)
        return f"{_shown(url)}: URL longer than {MAX_URL_CHARS} characters"
    return None


def _shown(url: str) -> str:
    """``url`` as it may be printed: its password and credential query values masked. Also a
    feed's name, which is its URL when none was given (text that is no URL stays as it is)."""
    from monitor.net import shown_url

    return shown_url(url)



"""``monitor feeds import`` and ``monitor feeds export``: the feed list as OPML."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import fail, get_config
from monitor.cli.feeds import _source, _synced_store, _url_problem, feeds_app
from monitor.cli.output import plural
from monitor.errors import OpmlError

if TYPE_CHECKING:
    from rich.console import Console

PROGRESS_FROM = 50  # an import of this many feeds or more shows a progress bar
# A list of 100,000 feeds is about 10 MB; a bigger file is not a feed list (or /dev/zero).
MAX_OPML_BYTES = 64 * 1024 * 1024


@feeds_app.command("import")
def import_opml(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(
        metavar="FILE", help="An OPML file (as feed readers export).", dir_okay=False)],
) -> None:
    """Add every feed of an OPML file.

    Feeds already in the list are left as they are.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from monitor.feeds import read_opml

    config = get_config(ctx)
    try:
        with file.open("rb") as stream:
            content = stream.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        fail(f"{file}: cannot read: {exc.strerror or exc}")
    if len(content) > MAX_OPML_BYTES:
        fail(f"{file}: larger than {MAX_OPML_BYTES:,} bytes; not a feed list")
    try:
        listed = read_opml(content)
    except OpmlError as exc:
        fail(f"{file}:{exc.line}: {exc}" if exc.line else f"{file}: {exc}")
    store = _synced_store(config)
    counts = {"added": 0, "restored": 0, "exists": 0, "configured": 0, "invalid": 0}
    total = len(listed.skipped) + len(listed.feeds)
    progress = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                        console=Console(stderr=True), transient=True,
                        disable=total < PROGRESS_FROM)
    with progress:
        task = progress.add_task("import", total=total)
        for url in listed.skipped:  # not http(s): _url_problem says which scheme
            _skipped(progress.console, _url_problem(url) or f"{url}: not an http(s) URL")
            counts["invalid"] += 1
            progress.advance(task)
        for feed in listed.feeds:
            problem = _url_problem(feed.url)
            if problem is not None:
                _skipped(progress.console, problem)
                counts["invalid"] += 1
            else:
                source = _source(config, feed.url, feed.title, None, None, list(feed.tags))
                counts[store.add_feed(source, update_existing=False)] += 1
            progress.advance(task)
    store.close()
    typer.echo(f"{file}: {plural(total, 'feed')}: {counts['added']} added, "
               f"{counts['restored']} added again, "
               f"{counts['exists'] + counts['configured']} already listed, "
               f"{counts['invalid']} refused")


def _skipped(console: Console, problem: str) -> None:
    # One line: the URL in it is shown masked (_url_problem), never wrapped.
    console.print(f"monitor: skipped {problem}", markup=False, highlight=False, soft_wrap=True)


@feeds_app.command("export")
def export(ctx: typer.Context) -> None:
    """Print the feed list as OPML on standard output.

    Both the feeds of monitor.yaml and those added with the command line; local-file feeds
    are left out (counted on standard error).
    """
    from monitor.feeds import OpmlFeed, write_opml

    config = get_config(ctx)
    store = _synced_store(config)
    active = list(store.active_feeds())
    store.close()
    web = [h for h in active if h.url.startswith(("http://", "https://"))]
    if len(web) < len(active):  # local files mean nothing to another reader
        typer.echo(f"monitor: {plural(len(active) - len(web), 'local-file feed')} not exported",
                   err=True)
    # Bytes, as written: the document declares UTF-8, whatever the terminal's encoding.
    typer.echo(write_opml(OpmlFeed(url=h.url, title=h.name, tags=h.tags) for h in web),
               nl=False)

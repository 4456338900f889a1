"""``monitor run`` and ``monitor db``: the daemon and its database."""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import app, config_path, fail, get_config, group, reread_config
from monitor.cli.output import plural
from monitor.errors import MonitorError

if TYPE_CHECKING:  # heavy stages load when a command runs, so --help stays fast
    from collections.abc import Callable

    from monitor.config import Config
    from monitor.daemon import OpsEndpoints, Service
    from monitor.store import Store
    from monitor.web import WebServer

    Probe = Callable[[str], tuple[int, str, bytes] | None]

db_app = group(
    "Database schema: apply migrations, show the revision.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")


def open_store(config: Config, *, require_schema: bool = True, create: bool = False,
               status_only: bool = False) -> Store:
    """The configured store; exits 2 with one line when it cannot be opened (no server, not
    a database, read-only...) or its schema is not this program's.

    Only ``create=True`` (``monitor db upgrade``) may create an SQLite file: any other
    command on a folder without a database says so and leaves the folder as it was.
    """
    from monitor.store import Store, current_revision, head_revision, safe_url, sqlite_path
    path = sqlite_path(config.database_url, config.base_dir)
    if not create and path is not None and not path.exists():
        fail(f"no database at {path} yet; run `monitor db upgrade` to create it")
    try:
        store = Store.open(config.database_url, config.base_dir)
        # The first connection: a database that cannot be opened is a StoreError here.
        current = current_revision(store.engine)
    except MonitorError as exc:
        fail(str(exc))
    newer = None if status_only else newer_schema(config, current)
    if newer is not None:
        store.close()
        fail(newer)
    if require_schema and current != head_revision():
        store.close()
        fail(f"the database {safe_url(config.database_url)} is not at the current schema; "
             "run `monitor db upgrade`")
    if store.dialect == "postgresql":  # new articles get their text index lexemes at save
        from monitor.rules import tokenize
        store.tokenizer = tokenize
    return store


def is_newer(current: str | None, head: str | None) -> bool:
    """Whether revision ``current`` comes after this program's ``head``: a newer newsmonitor
    upgraded the database. Revisions are numbered in order (0001, 0002... as the migration
    files are named), so a larger number is a migration this program does not have."""
    if current is None or head is None or current == head:
        return False
    return current.isdigit() and head.isdigit() and int(current) > int(head)


def newer_schema(config: Config, current: str | None) -> str | None:
    """Why this program must not use a database a newer newsmonitor upgraded, or None."""
    from monitor.store import head_revision, safe_url
    head = head_revision()
    if not is_newer(current, head):
        return None
    return (f"the database {safe_url(config.database_url)} is at revision {current}, newer "
            f"than this program's {head}: a newer newsmonitor upgraded it; upgrade "
            "newsmonitor (`monitor db upgrade` cannot help, and this version must not use it)")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create the database or apply pending migrations.

    Safe to run again: an up-to-date database is left as it is. A damaged SQLite file is
    refused before anything is changed.
    """
    from monitor.store import TextIndex, current_revision, head_revision, safe_url, upgrade
    config = get_config(ctx)
    store = open_store(config, require_schema=False, create=True)
    try:
        # Checked only when something is to be written: this runs before every daemon start
        # (ExecStartPre), and the check reads the whole file (about 3 s per GB, cold).
        to_write = (current_revision(store.engine) != head_revision()
                    or any(TextIndex(store).pending()))
    except MonitorError as exc:  # a damaged page met before the check
        store.close()
        fail(f"{exc}; nothing was changed")
    if to_write:
        seconds = _check_file(store, "nothing was changed")
        if seconds is not None:
            typer.echo(f"database file sound (PRAGMA quick_check, {seconds:.1f} s)")
    try:
        upgrade(store.engine)
    except Exception as exc:  # noqa: BLE001  (any migration failure is one clear line)
        fail(f"migration failed on {safe_url(config.database_url)}: {exc}", code=1)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from monitor.rules import article_stems
    index = TextIndex(store)
    stems_todo, lexemes_todo = index.pending()
    # A store of 200,000 articles takes minutes: a bar on the terminal (stderr), none in a pipe.
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True,
                  disable=not (console.is_terminal and (stems_todo or lexemes_todo))
                  ) as progress:
        stems_task = progress.add_task("text index: stems", total=stems_todo)
        stemmed = index.catch_up_stems(  # in batches, both databases
            article_stems, progress=lambda n: progress.advance(stems_task, n))
        # The stems just computed cleared those articles' lexemes (PostgreSQL): count again.
        lexemes_todo = index.pending()[1]
        lexemes_task = progress.add_task("text index", total=lexemes_todo)
        # SQLite: the articles waiting for the FTS5 index; PostgreSQL: the lexemes' backfill.
        indexed = index.index_pending(progress=lambda n: progress.advance(lexemes_task, n))
        if store.tokenizer is not None:
            indexed += index.catch_up(store.tokenizer,
                                      progress=lambda n: progress.advance(lexemes_task, n))
    if stemmed:
        typer.echo(f"text index: stems of {plural(stemmed, 'article')} computed")
    if indexed:
        typer.echo(f"text index: {plural(indexed, 'article')} indexed")
    typer.echo(f"database {safe_url(config.database_url)} is at revision "
               f"{current_revision(store.engine)}")
    store.close()


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision; check an SQLite file.

    The revision and the one expected; on SQLite, PRAGMA quick_check over the whole file: a
    damaged file exits 2 with the first problem found.
    """
    from monitor.store import current_revision, head_revision, safe_url
    config = get_config(ctx)
    store = open_store(config, require_schema=False, status_only=True)
    seconds = _check_file(store, "restore it from a backup")
    current, head = current_revision(store.engine), head_revision()
    if current == head:
        state = "up to date"
    elif is_newer(current, head):
        state = "newer than this program (upgrade newsmonitor, not the database)"
    else:
        state = "behind (run `monitor db upgrade`)"
    typer.echo(f"database: {safe_url(config.database_url)}\nrevision: {current or 'none'}"
               f"\nexpected: {head}\nstatus:   {state}")
    if seconds is not None:
        typer.echo(f"file:     sound (PRAGMA quick_check, {seconds:.1f} s)")
    store.close()


def _check_file(store: Store, advice: str) -> float | None:
    """:func:`monitor.store.quick_check`'s seconds; a damaged file exits 2 with one line and
    ``advice`` (a file the check cannot read, with the reason alone)."""
    from monitor.store import DATABASE_DAMAGED, quick_check
    try:
        return quick_check(store.engine)
    except MonitorError as exc:
        store.close()
        fail(f"{exc}; {advice}" if exc.code == DATABASE_DAMAGED else str(exc))


def _refuse_web(config: Config) -> None:
    """Exit 2 with one line when the web view must not start as configured (an address open
    without authentication, a prefix its own pages would make ambiguous)."""
    from monitor.web import base_path_problem, listen_problem
    problem = listen_problem(config.web)
    if problem is not None:
        fail(problem)
    problem = base_path_problem(config.web)
    if problem is not None:
        fail(f"web.public_url: {problem}")


# Open files a long-running command asks for (its soft limit raised up to the hard one).
OPEN_FILES_WANTED = 65536


def raise_open_files_limit() -> None:
    """Lift this process's soft limit on open files towards its hard limit: the web view's
    connections, the fetches, the database and the extraction workers' pipes share it, and
    the usual soft limit of 1,024 is a small part of what systemd (524,288) or Docker allow.
    What waits on them here uses poll or epoll, which take any file number (select() stops at
    1,024: only apprise's IRC and Nostr plugins use it, and only past 1,024 open files)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard,
                                                                          OPEN_FILES_WANTED)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:  # a sandbox may refuse: keep what there is
            logging.getLogger(__name__).warning("could not raise the open-files limit from "
                                                "%d to %d: %s", soft, wanted, exc)


def web_server(config: Config, store: Store) -> WebServer:
    """The configured web server over ``store``; exits 2 with one line if it must not start."""
    from monitor.web import WebServer, create_app
    _refuse_web(config)
    raise_open_files_limit()
    return WebServer(create_app(config, store), config.web)


def _start_web(config: Config, probes: Probe | None = None) -> WebServer:
    """The web view in a thread beside the daemon, on its own store connection; ``probes``
    answers the daemon's /metrics, /healthz and /readyz on the same listener."""
    from monitor.web import WebServer, add_routes, create_app, probe_routes
    _refuse_web(config)
    app = create_app(config, open_store(config))
    if probes is not None:
        # Health probes need no sign-in; /metrics (rule ids and counts) does when the web
        # view has users: a Prometheus then scrapes metrics.listen instead.
        add_routes(app, probe_routes(["/healthz", "/readyz"], probes), public=True)
        add_routes(app, probe_routes(["/metrics"], probes),
                   public=not config.web.auth_enabled)
    server = WebServer(app, config.web)
    try:
        server.start()
    except MonitorError as exc:
        fail(f"{exc} (is another process using web.listen {config.web.listen}? "
             "set web.enabled: false to run without it)", code=1)
    typer.echo(f"web view: {server.url}", err=False)
    sys.stdout.flush()
    return server


@app.command("run")
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(
        "--once", help="Run one full cycle (poll, match, store, deliver) and exit.")] = False,
    no_web: Annotated[bool, typer.Option(
        "--no-web", help="Do not serve the web view, whatever web.enabled says (several "
        "daemons beside one monitor web).")] = False,
) -> None:
    """Run the daemon: poll, match, store and alert on schedule.

    Feeds are polled when due, new articles matched against the rules, hits stored and
    alerts sent; the web view is served beside it (web.listen, unless web.enabled is false).
    Stops cleanly on SIGTERM or Ctrl-C. Rules are reloaded when files under the rules
    directory change; a broken edit is reported and the last good rules stay active. The
    feed list (and polling.default_interval) follows monitor.yaml when it changes (other
    settings need a restart); SIGHUP reloads both.
    """
    from monitor.daemon import Daemon, SystemdNotifier, build_service, install_stop_handlers

    # A stop asked for while the service is still starting (systemd stopping a unit that
    # just started) is kept and honoured once the daemon is up, instead of killing it mid-way.
    stop, reload_requested = threading.Event(), threading.Event()
    # SIGTERM, Ctrl-C: stop. SIGHUP: reload, once running; --once has nothing to reload and
    # stops (its terminal went away).
    install_stop_handlers(stop, None if once else reload_requested)
    raise_open_files_limit()
    # A channel URL with a typo would lose alerts; the web address matters only if served.
    config = get_config(ctx, deliverable=True, serves_web=not (once or no_web))
    for note in config.notes:  # valid, but rarely what was meant (monitor check fails)
        logging.getLogger("monitor.config").warning("%s", note)
    open_store(config).close()
    built: list[OpsEndpoints] = []  # the daemon's probes, once the service is built

    def probes(path: str) -> tuple[int, str, bytes] | None:
        if not built:
            return 503, "text/plain", b"starting\n"
        answer = built[0].answer(path)
        return None if answer is None else (answer.status, answer.content_type, answer.body)

    serve_web = config.web.enabled and not once and not no_web
    server = _start_web(config, probes) if serve_web else None
    try:
        service = build_service(config, stop=stop)
    except MonitorError as exc:
        if server is not None:
            server.stop()
        fail(str(exc), code=1)
    built.append(service.ops)
    if once:
        one_cycle(service)
        raise typer.Exit(0)
    path = config_path(ctx)
    daemon = Daemon(service, SystemdNotifier.from_environ(os.environ),
                    load_config=None if path is None else partial(reread_config, path),
                    config_path=path, reload_requested=reload_requested)
    try:
        code = daemon.run()
    finally:
        if server is not None:
            server.stop()
    if not daemon.finished_cleanly:
        # Worker threads still blocked in I/O would hold the interpreter open past the stop
        # deadline; their leases are released and their transactions roll back, so exit now.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    raise typer.Exit(code)


def one_cycle(service: Service, *, announce: bool = True) -> None:
    """``service``'s one cycle and dispatch round (``run --once``, ``feeds refresh``), then
    closed; returns when it ran through. A database failure is one line and exit 1; a stop
    (SIGTERM, Ctrl-C, with :func:`~monitor.daemon.install_stop_handlers` set) exits 1 at
    once, since polls left running after the grace may hold the interpreter."""
    from monitor.daemon import run_once

    try:
        code = run_once(service, announce=announce)
    except MonitorError as exc:
        fail(str(exc), code=1)
    if code != 0:
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)

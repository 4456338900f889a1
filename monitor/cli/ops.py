"""``monitor health``, ``monitor status`` and ``monitor db prune``: running it in production."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from monitor.cli.app import EXIT_USAGE, app, fail, get_config, read_config
from monitor.cli.output import plural
from monitor.cli.service import db_app, open_store
from monitor.errors import ConfigError, MonitorError

if TYPE_CHECKING:
    from monitor.config import RetentionConfig
    from monitor.store import Store

EXIT_NOT_READY = 1
EXIT_NOT_ALIVE = 3
LIVE_TICKS = 3  # a daemon whose heartbeat row is older than this many ticks is not live


@app.command("health")
def health(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    ready_only: Annotated[bool, typer.Option(
        "--ready-only", help="Check readiness only, not that a daemon is running.")] = False,
) -> None:
    """Check readiness and liveness.

    Readiness: the database is reachable, migrations are current, the rules load. Liveness:
    a daemon's heartbeat within 3 ticks. Exit 0: ready and alive; 1: not ready; 2: bad
    configuration; 3: ready but no daemon alive.
    """
    from monitor.daemon import readiness_report
    from monitor.store import Store, live_instances, sqlite_path

    if as_json:
        try:
            config = read_config(ctx)
        except ConfigError as exc:  # still one JSON object, for the probe that parses it
            _not_ready(True, str(exc), check="config", code=EXIT_USAGE,
                       errors=[str(p) for p in exc.problems])
    else:
        config = get_config(ctx)
    missing = sqlite_path(config.database_url, config.base_dir)
    if missing is not None and not missing.exists():  # a health check creates nothing
        _not_ready(as_json, f"no database at {missing}; run `monitor db upgrade`")
    try:
        store = Store.open(config.database_url, config.base_dir)
    except MonitorError as exc:
        _not_ready(as_json, str(exc))
    try:
        checks = readiness_report(store, config.rules_path)
        ready = all(ok for _, ok, _ in checks)
        live = []
        if ready and not ready_only:
            live = live_instances(store, timedelta(seconds=LIVE_TICKS * config.polling.tick))
    finally:
        store.close()
    alive = ready_only or bool(live)
    if as_json:
        typer.echo(json.dumps({
            "ready": ready, "alive": alive if ready else None,
            "checks": {name: {"ok": ok, "detail": detail} for name, ok, detail in checks},
            "instances": [i.id for i in live]}))
    else:
        for name, ok, detail in checks:
            typer.echo(f"{'ok' if ok else 'FAIL':4} {name}: {detail}")
        if ready and not ready_only:
            typer.echo(f"{'ok' if live else 'FAIL':4} daemons: {len(live)} alive"
                       if live else "FAIL daemons: none alive (no heartbeat within "
                       f"{LIVE_TICKS} ticks)")
    if not ready:
        raise typer.Exit(EXIT_NOT_READY)
    if not alive:
        raise typer.Exit(EXIT_NOT_ALIVE)


def _not_ready(as_json: bool, detail: str, *, check: str = "database",
               code: int = EXIT_NOT_READY, errors: list[str] | None = None) -> NoReturn:
    """Exit ``code``: ``check`` failed before the others could run (``--json``: as one JSON
    object, with the configuration's ``errors`` when it is the configuration)."""
    if as_json:
        report: dict[str, object] = {"ready": False, "alive": None,
                                     "checks": {check: {"ok": False, "detail": detail}}}
        if errors is not None:
            report["errors"] = errors
        report["instances"] = []
        typer.echo(json.dumps(report))
        raise typer.Exit(code)
    fail(f"not ready: {detail}", code=code)


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option(
        "--json", help='One JSON object: {"daemons": [...], "outbox": {"depth", "pending", '
                       '"held", "digest", "sending", "oldest_open_at"}}.')] = False,
) -> None:
    """List the live daemons and the outbox depth.

    Each daemon sharing this database with its last cycle, and the settings of monitor.yaml
    it reloaded but applies only after a restart. The outbox depth: the notifications not yet
    sent (pending, held by the delivery policy, or waiting for a digest), and how many of
    them a daemon is sending now.
    """
    from monitor.store import Outbox, live_instances, outbox_stats

    config = get_config(ctx)
    store = open_store(config)
    try:
        live = live_instances(store, timedelta(seconds=LIVE_TICKS * config.polling.tick))
        outbox = outbox_stats(store)
        sending = Outbox(store).leased()
    finally:
        store.close()
    if as_json:  # one object, so that the outbox is there when no daemon is alive
        oldest = outbox.oldest_pending_at
        typer.echo(json.dumps({
            "daemons": [{
                "id": inst.id, "hostname": inst.hostname, "pid": inst.pid,
                "version": inst.version, "started": inst.started_at.isoformat(),
                "heartbeat": inst.heartbeat_at.isoformat(),
                "last_cycle_at": inst.last_cycle_at.isoformat() if inst.last_cycle_at else None,
                "last_cycle": inst.last_cycle,
                "restart_pending": list(inst.restart_pending)} for inst in live],
            "outbox": {"depth": outbox.depth, **outbox.open_by_status(), "sending": sending,
                       "oldest_open_at": oldest.isoformat() if oldest else None}}))
        return
    for inst in live:
        typer.echo(f"{inst.id}  up since {inst.started_at:%Y-%m-%d %H:%M:%S}Z  "
                   f"heartbeat {inst.heartbeat_at:%H:%M:%S}Z  v{inst.version}")
        if inst.last_cycle_at is not None:
            typer.echo(f"    last cycle {inst.last_cycle_at:%H:%M:%S}Z: {inst.last_cycle}")
        else:
            typer.echo("    no cycle with due feeds yet")
        if inst.restart_pending:
            typer.echo(f"    restart to apply monitor.yaml's {', '.join(inst.restart_pending)}")
    typer.echo(f"{plural(len(live), 'daemon')} alive; outbox: "
               f"{plural(outbox.depth, 'notification')} open"
               + (f" ({sending} sending now)" if sending else ""))


@db_app.command("prune")
def db_prune(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would go, change nothing.")] = False,
) -> None:
    """Apply retention now (retention.*).

    Drops old article text, old stories, settled notifications and delivery attempts; then
    gives SQLite's free space back.
    """
    config = get_config(ctx)
    store = open_store(config)
    try:
        _prune(store, config.retention, dry_run)
    except MonitorError as exc:  # locked past the busy timeout, gone, malformed: one line
        fail(f"prune stopped: {exc} (the batches done stay done)", code=1)
    finally:
        store.close()


def _prune(store: Store, retention: RetentionConfig, dry_run: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from monitor.store import prune, prune_plan

    plan = prune_plan(store, retention)
    for count in plan:
        when = (f"before {count.cutoff:%Y-%m-%d %H:%M}Z" if count.cutoff is not None
                else "kept forever (retention off)")
        typer.echo(f"{count.step:14} {count.rows:>9} {count.what}, {when}")
    if dry_run:
        typer.echo("dry run: nothing changed")
        return
    total = sum(c.rows for c in plan)
    with Progress(TextColumn("{task.description:14}"), BarColumn(), MofNCompleteColumn(),
                  transient=False) as bar:
        tasks = {c.step: bar.add_task(c.step, total=max(c.rows, 1)) for c in plan if c.rows}
        done = prune(store, retention,
                     progress=lambda step, n: bar.advance(tasks[step], n)
                     if step in tasks else None)
    typer.echo(f"pruned {sum(done.values())} of {total} rows counted; "
               + ", ".join(f"{step} {rows}" for step, rows in done.items()))

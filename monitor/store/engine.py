"""Engines that behave the same on SQLite and PostgreSQL.

SQLite: WAL journal, a busy timeout, and ``BEGIN IMMEDIATE`` for write transactions (a
deferred BEGIN upgrades its lock mid-transaction and fails with "database is locked" under
concurrent writers). One host only. PostgreSQL: pool pre-ping so a restarted server is
survived. Both: ``hide_parameters`` so no bound value (a destination, a token) ever appears
in an exception or a log line.

A connection that cannot be made (no server, a file that is not a database, a read-only file
or folder, a path that is a folder) is a :class:`StoreError` ``cannot open the database
<url, password masked>: <reason>``, raised from the engine itself, so every caller gets the
same one line whatever it was doing when it first connected.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, ExceptionContext, make_url

from monitor.errors import StoreError

SQLITE_BUSY_TIMEOUT_MS = 5000
# RETURNING (an alert queued once tells whether it went in) needs 3.35; Python 3.11's own
# builds and Debian 12 ship 3.40 or newer.
MIN_SQLITE = (3, 35, 0)


def resolve_database_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path relative to ``base_dir`` and create its folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            path = base_dir / path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open the database {safe_url(url)}: cannot create its "
                             f"folder {path.parent}: {exc.strerror or exc}") from exc
        return parsed.set(database=str(path)).render_as_string(hide_password=False)
    return url


def sqlite_path(url: str, base_dir: Path) -> Path | None:
    """The file an SQLite URL names (relative to ``base_dir``), or None for other databases
    and in-memory SQLite. Creates nothing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or (
            parsed.database == ":memory:"):
        return None
    path = Path(parsed.database)
    return path if path.is_absolute() else base_dir / path


def safe_url(url: str) -> str:
    """The database URL with its password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def open_problem(url: str, exc: BaseException) -> StoreError:
    """The StoreError for a connection to ``url`` that failed with ``exc``: one line, the
    password masked in the URL and in the reason."""
    reason = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    password = make_url(url).password
    if password:
        reason = reason.replace(str(password), "***")
    return StoreError(f"cannot open the database {safe_url(url)}: {reason or type(exc).__name__}")


def _translate_connect_errors(engine: Engine, url: str) -> None:
    """A failed connect raises :func:`open_problem`'s StoreError instead of the driver's
    error (errors of statements on an open connection are left to the store's transactions)."""
    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if context.connection is None:  # no connection yet: connecting itself failed
            raise open_problem(url, context.original_exception) from (
                context.sqlalchemy_exception or context.original_exception)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-backend settings described above."""
    engine = _make_engine(url)
    _translate_connect_errors(engine, url)
    return engine


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreError(
                f"this Python's SQLite is {sqlite3.sqlite_version}; newsmonitor needs "
                f"{'.'.join(map(str, MIN_SQLITE))} or newer (or use PostgreSQL)")
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, hide_parameters=True, pool_pre_ping=True, pool_size=10,
                         max_overflow=10)


def set_wal(cursor: Any, deadline: float) -> None:
    """``PRAGMA journal_mode=WAL``, retried until ``deadline`` (``time.monotonic()``) while the
    database is locked.

    Daemons started together on a new file each switch it to WAL on their first connection.
    The switch takes a shared lock and then an exclusive one; when two connections hold the
    shared lock and both want the exclusive one, SQLite answers one of them "database is
    locked" at once, without the busy handler (waiting could deadlock), and that daemon
    failed to start. The other finishes the switch in moments, so trying again succeeds.
    """
    delay = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.05)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself instead of pysqlite's deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Takes effect in a new, empty file only: freed pages can then be given back with
        # PRAGMA incremental_vacuum (monitor.store.retention). On an existing file it still
        # writes the header, a write transaction at every connection: a command that only
        # reads (or refuses a damaged file) would change it. So new files only.
        if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
            cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
        set_wal(cursor, time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000)
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


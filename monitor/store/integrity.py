"""Whether an SQLite file is sound: ``PRAGMA quick_check``, and a damaged file's errors.

A file whose pages were overwritten (a failing disk, a copy taken mid-write) still opens, and
every statement that misses the damaged pages works: nothing notices until one reads them.
``monitor db status`` therefore checks the whole file, and ``monitor db upgrade`` checks it
before it changes anything. The daemon's start does not: the check reads every page, about
0.6 s per 200 MB from a cold cache (0.15 s cached), i.e. tens of seconds at the README's
steady state of 9 GB, at every restart. A statement that meets a damaged page is instead a
StoreError naming the file (:func:`damaged`), like an unreachable database.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from monitor.errors import StoreError

DATABASE_DAMAGED = "database_damaged"  # the code of a damaged file's StoreError
# Primary result codes: "database disk image is malformed" and "file is not a database".
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def is_damage(exc: BaseException | None) -> bool:
    """Whether a driver error says the SQLite file is damaged (extended codes included);
    constraint and lock errors are not."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def damaged(engine: Engine, problem: object) -> StoreError:
    """The StoreError of a damaged file: one line naming the file and the problem."""
    return StoreError.coded(f"the database file {engine.url.database} is damaged: {problem}",
                            DATABASE_DAMAGED)


@contextmanager
def damage_named(engine: Engine) -> Iterator[None]:
    """Turn a statement's error that says the file is damaged into :func:`damaged`'s
    StoreError; every other error passes as it is."""
    try:
        yield
    except DatabaseError as exc:
        if is_damage(exc.orig):
            raise damaged(engine, exc.orig) from exc
        raise


def quick_check(engine: Engine) -> float | None:
    """Run SQLite's ``PRAGMA quick_check`` on the whole file; returns its seconds, or None
    on PostgreSQL (not checked). A damaged file is a StoreError (code ``DATABASE_DAMAGED``)
    with the first problem SQLite reports."""
    if engine.dialect.name != "sqlite":
        return None
    started = time.monotonic()
    try:
        raw = engine.raw_connection()  # autocommit: no BEGIN IMMEDIATE, it only reads
        try:
            conn = raw.driver_connection
            assert conn is not None
            # (1): stop at the first problem. Without it, a damaged table page makes the
            # pragma itself fail ("malformed") instead of naming the page.
            rows = conn.execute("PRAGMA quick_check(1)").fetchall()
        finally:
            raw.close()
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise damaged(engine, f"{exc} (PRAGMA quick_check)") from exc
        raise StoreError(f"database unavailable: {exc}") from exc
    lines = [line for row in rows for line in str(row[0]).splitlines()
             if line and not line.startswith("*** in database")]
    if lines != ["ok"]:
        raise damaged(engine, f"{lines[0] if lines else 'no answer'} (PRAGMA quick_check)")
    return time.monotonic() - started

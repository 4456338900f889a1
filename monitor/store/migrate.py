"""Schema migrations with Alembic, run programmatically on the store's engine.

Alembic is imported only to migrate: the daemon checks the schema at start and in its health
check with :func:`current_revision` and :func:`head_revision`, which read the version table
and the migration files' ``revision``/``down_revision`` themselves, and :func:`upgrade` of a
database already at head returns without it (Alembic and Mako are ~11 MB of the daemon's
memory; tests/store/test_migrate_check.py compares both answers with Alembic's).
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, inspect, select, text

from monitor.store.integrity import damage_named

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Python 3.11's ast module fails when two threads convert trees at once ("AST constructor
# recursion depth mismatch"): daemons started in threads of one process read the files in turn.
_AST_LOCK = threading.Lock()
MIGRATE_LOCK = 0x6E6D_0000  # pg_advisory_xact_lock key of upgrade ("nm" 0)


# Kept by hand-written SQL in the migrations, not by the models (see textindex.py): SQLite's
# FTS5 table with its shadow tables, PostgreSQL's text_tokens column with its indexes, and
# the partial indexes.
_UNMODELLED_PREFIX = "articles_fts"
_UNMODELLED = frozenset({"text_tokens", "ix_articles_text_tokens",
                         "ix_articles_text_tokens_pending", "ix_articles_stems_pending",
                         "ix_articles_page_retry"})


def include_object(_obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Alembic's ``include_object`` hook: autogenerate compares the models with the database
    but leaves alone what the models do not describe (it would propose to drop the text
    index)."""
    if reflected and compare_to is None and name is not None:
        if type_ == "table" and name.startswith(_UNMODELLED_PREFIX):
            return False
        if name in _UNMODELLED:
            return False
    return True


def _alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (idempotent)."""
    if revision == "head" and _at_head(engine):
        return  # what Alembic would find too, without importing it (the daemon's usual start)
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Daemons started together on an empty database take turns: the second one
            # waits here, then finds the schema at head and has nothing to do.
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATE_LOCK)))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def _at_head(engine: Engine) -> bool:
    try:
        return current_revision(engine) == head_revision()
    except RuntimeError:  # several heads: Alembic says what is wrong
        return False


def current_revision(engine: Engine) -> str | None:
    """The revision in Alembic's version table; None before the first migration. A damaged
    SQLite file that cannot tell is a StoreError."""
    with damage_named(engine), engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        heads = connection.execute(
            text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(heads) > 1:
        raise RuntimeError("the alembic_version table holds more than one head")
    return str(heads[0]) if heads else None


def head_revision() -> str | None:
    """The newest migration: the one no other names as its ``down_revision``; raises
    RuntimeError when there are several (two migrations made on the same parent)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        names = _module_constants(path)
        revision, down = names.get("revision"), names.get("down_revision")
        if isinstance(revision, str):
            revisions.add(revision)
            parents.update(down if isinstance(down, tuple | list) else (down,))
    heads = revisions - parents
    if len(heads) > 1:
        raise RuntimeError(f"several migration heads: {', '.join(sorted(heads))}")
    return heads.pop() if heads else None


def _module_constants(path: Path) -> dict[str, object]:
    """A migration file's top-level ``name = <literal>`` assignments, without running it."""
    found: dict[str, object] = {}
    source = path.read_text(encoding="utf-8")
    with _AST_LOCK:
        body = ast.parse(source).body
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            try:
                with _AST_LOCK:
                    found[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return found


def make_revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the models (developer command)."""
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)

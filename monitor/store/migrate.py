"""Schema migrations with Alembic, run programmatically on the store's engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATE_LOCK = 0x6E6D_0000  # pg_advisory_xact_lock key of upgrade ("nm" 0)


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (idempotent)."""
    cfg = _alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Daemons started together on an empty database take turns: the second one
            # waits here, then finds the schema at head and has nothing to do.
            connection.execute(select(func.pg_advisory_xact_lock(MIGRATE_LOCK)))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def make_revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the models (developer command)."""
    cfg = _alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)

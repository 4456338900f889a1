"""The schema check without Alembic: the same answers as Alembic's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from monitor.store import migrate
from monitor.store.migrate import (
    MIGRATIONS_DIR,
    current_revision,
    head_revision,
    include_object,
    upgrade,
)
from monitor.store.schema import Base


def test_head_revision_is_alembics_head() -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()
    assert head_revision() is not None


def test_current_revision_reads_the_version_table_as_alembic_does(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    assert current_revision(engine) is None
    upgrade(engine, "0002")
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0002"
    assert current_revision(engine) == "0002"
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_two_migrations_on_one_parent_are_two_heads(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "versions").mkdir()
    for name, revision, down in (("a", "0001", None), ("b", "0002", "0001"),
                                 ("c", "0003", "0001")):
        (tmp_path / "versions" / f"{name}.py").write_text(
            f"from alembic import op\nrevision = {revision!r}\ndown_revision: str | None = "
            f"{down!r}\n\ndef upgrade() -> None:\n    op.execute('x')\n")
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="0002, 0003"):
        head_revision()
    (tmp_path / "versions" / "c.py").unlink()
    assert head_revision() == "0002"


def test_upgrade_at_head_does_without_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys
    db = tmp_path / "m.db"
    upgrade(create_engine(f"sqlite:///{db}"))
    code = ("import sys\nfrom sqlalchemy import create_engine\nfrom monitor.store import upgrade\n"
            f"upgrade(create_engine({f'sqlite:///{db}'!r}))\nprint('alembic' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


def test_the_models_describe_the_migrated_schema(database_url: str) -> None:
    """Autogenerate against a database at head finds nothing to do: the models and the
    migrations agree, and the hand-made text index is left out rather than dropped."""
    engine = create_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include_object})
            assert compare_metadata(context, Base.metadata) == []
            unfiltered = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(unfiltered, Base.metadata)  # the filter is what hides it
    finally:
        engine.dispose()


def test_the_stems_migration_keeps_the_text_index_of_stored_articles(database_url: str) -> None:
    """0011 remakes SQLite's FTS5 table with a stems column: articles stored before it are
    found as before, down to 0010 and up again; their stems start NULL."""
    from alembic import command
    from sqlalchemy import text

    from monitor.store import Store, TextIndex
    from monitor.store.migrate import _alembic_config
    from tests.web_support import seeded_store

    store = seeded_store(database_url)
    count = store.count("articles")
    assert count > 0

    def found() -> list[int] | None:
        query = '"gencatan"' if store.dialect == "sqlite" else "'gencatan'"
        return TextIndex(Store(store.engine)).candidate_ids(query)

    # SQLite: only the article with the word. PostgreSQL: every article (saved without
    # lexemes, each is a candidate).
    before = found()
    word = [a.id for a in store.articles() if "gencatan" in f"{a.title} {a.text}".lower()]
    assert 0 < len(word) < count
    expected = word if store.dialect == "sqlite" else [a.id for a in store.articles()]
    assert before == expected
    cfg = _alembic_config()
    with store.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0010")
    assert found() == expected
    upgrade(store.engine)
    assert found() == expected
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM articles WHERE stems IS NULL")
                                  ).scalar() == count
    store.close()


def test_every_foreign_key_leads_an_index(tmp_path: Path) -> None:
    # Deleting a parent row (prune) makes the database look up the rows referencing it: with
    # no index led by the referencing column that is a scan of the whole child table per row
    # (a prune of 40,000 stories took 8 minutes of write transactions longer than a daemon
    # waits for the lock).
    from sqlalchemy import inspect

    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    schema = inspect(engine)
    unindexed = []
    for table in schema.get_table_names():
        leading = {tuple(i["column_names"][:1]) for i in schema.get_indexes(table)}
        leading |= {tuple(u["column_names"][:1]) for u in schema.get_unique_constraints(table)}
        leading.add(tuple(schema.get_pk_constraint(table)["constrained_columns"][:1]))
        for fk in schema.get_foreign_keys(table):
            if tuple(fk["constrained_columns"][:1]) not in leading:
                unindexed.append(f"{table}.{','.join(fk['constrained_columns'])}")
    engine.dispose()
    assert unindexed == []

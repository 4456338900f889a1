"""article stems in the text index: stemmed rules narrow search and backtest too

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:30:00.000000

``articles.stems`` holds an article's distinct stems in its own language (the stemmer the
matcher uses for it), space-separated; "" when its language has no stemmer; NULL until
computed (by the rules' stemmer in Python, at save or by TextIndex.catch_up_stems), and a NULL
row is a candidate of every stemmed query, so nothing is lost before the backfill. SQLite: the
FTS5 table gets a third column, ``stems`` (the table is made again and rebuilt). PostgreSQL:
the stems go into ``text_tokens`` as ``~stem`` lexemes, so the trigger that sets the lexemes
back to NULL now also fires when the stems change. Articles never gain words after they are
stored (retention only empties a text), so stems kept after a change are a superset: still
never a lost candidate.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_FTS = ("CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, {columns}content='articles', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
_TRIGGERS = ("articles_fts_insert", "articles_fts_delete", "articles_fts_update")


def _sqlite(stems: bool) -> list[str]:
    cols, new, old = ("title, text, stems", "new.title, new.text, new.stems",
                      "old.title, old.text, old.stems") if stems else (
        "title, text", "new.title, new.text", "old.title, old.text")
    statements = [
        _FTS.format(columns="stems, " if stems else ""),
        f"CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
        f"INSERT INTO articles_fts(rowid, {cols}) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
        f"INSERT INTO articles_fts(articles_fts, rowid, {cols}) "
        f"VALUES ('delete', old.id, {old}); END",
        f"CREATE TRIGGER articles_fts_update AFTER UPDATE OF {cols} ON articles BEGIN "
        f"INSERT INTO articles_fts(articles_fts, rowid, {cols}) "
        f"VALUES ('delete', old.id, {old}); "
        f"INSERT INTO articles_fts(rowid, {cols}) VALUES (new.id, {new}); END",
    ]
    statements.append("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    return statements


def _postgres_stale(stems: bool) -> list[str]:
    watch = "title, text, stems" if stems else "title, text"
    changed = ("NEW.title IS DISTINCT FROM OLD.title OR NEW.text IS DISTINCT FROM OLD.text"
               + (" OR NEW.stems IS DISTINCT FROM OLD.stems" if stems else ""))
    return [
        "DROP TRIGGER IF EXISTS articles_text_tokens_stale ON articles",
        "CREATE OR REPLACE FUNCTION articles_text_tokens_stale() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF ({changed}) AND NEW.text_tokens IS NOT DISTINCT FROM OLD.text_tokens THEN "
        "NEW.text_tokens := NULL; END IF; RETURN NEW; END $$",
        f"CREATE TRIGGER articles_text_tokens_stale BEFORE UPDATE OF {watch} ON articles "
        "FOR EACH ROW EXECUTE FUNCTION articles_text_tokens_stale()",
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("ALTER TABLE articles ADD COLUMN stems TEXT")
    # The articles whose stems are not computed yet: candidates, and the backfill's work.
    op.execute("CREATE INDEX ix_articles_stems_pending ON articles (id) WHERE stems IS NULL")
    if dialect == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
        for statement in _sqlite(stems=True):
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in _postgres_stale(stems=True):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    elif dialect == "postgresql":
        for statement in _postgres_stale(stems=False):
            op.execute(statement)
    op.execute("DROP INDEX IF EXISTS ix_articles_stems_pending")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("stems")
    if dialect == "sqlite":
        for statement in _sqlite(stems=False):
            op.execute(statement)

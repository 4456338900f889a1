"""article text index on PostgreSQL: a tsvector of the folded tokens, GIN-indexed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00.000000

The PostgreSQL counterpart of 0008's FTS5 table (see monitor.store.textindex). The lexemes
are computed in Python by the rules' tokenizer (PostgreSQL's parsers and unaccent do not cut
and fold text as the matcher does), so the column starts NULL, which every candidate query
counts as a candidate: nothing is lost before the backfill. The backfill runs in batches of
500 (TextIndex.catch_up) on the first search or backtest, and from ``monitor migrate``. A
trigger sets the column back to NULL when an article's title or text changes without it.
On SQLite this migration does nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STATEMENTS = [
    "ALTER TABLE articles ADD COLUMN text_tokens tsvector",
    "CREATE INDEX ix_articles_text_tokens ON articles USING gin (text_tokens)",
    # The articles not indexed yet: found by index too (candidates, and the backfill's work).
    "CREATE INDEX ix_articles_text_tokens_pending ON articles (id) WHERE text_tokens IS NULL",
    "CREATE FUNCTION articles_text_tokens_stale() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF (NEW.title IS DISTINCT FROM OLD.title OR NEW.text IS DISTINCT FROM OLD.text) "
    "AND NEW.text_tokens IS NOT DISTINCT FROM OLD.text_tokens THEN "
    "NEW.text_tokens := NULL; END IF; RETURN NEW; END $$",
    "CREATE TRIGGER articles_text_tokens_stale BEFORE UPDATE OF title, text ON articles "
    "FOR EACH ROW EXECUTE FUNCTION articles_text_tokens_stale()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS articles_text_tokens_stale ON articles")
    op.execute("DROP FUNCTION IF EXISTS articles_text_tokens_stale()")
    op.execute("DROP INDEX IF EXISTS ix_articles_text_tokens_pending")
    op.execute("DROP INDEX IF EXISTS ix_articles_text_tokens")
    op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS text_tokens")

"""articles.text_tokens: PostgreSQL lexemes of articles with ё computed again

The matcher now folds ``ё`` to ``е`` (Russian writes ``ё`` as ``е`` in most texts, some
outlets always as ``ё``: a rule written either way missed the articles written the other;
see monitor.rules.unicode61). PostgreSQL's text index stores the matcher's own folded tokens
(monitor.store.lexemes), so an article stored with ``пётр`` among its lexemes would not be a
candidate of a search for ``петр``. Those articles' lexemes are set to NULL: every search
takes such an article as a candidate until they are computed again (``monitor db upgrade``
does after the migrations, with its progress bar; the daemon before a search or backtest).
SQLite's FTS5 index keeps ``ё`` apart and is asked for both spellings: nothing to do there.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 13:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("UPDATE articles SET text_tokens = NULL WHERE text_tokens IS NOT NULL AND "
               "(strpos(coalesce(title, ''), 'ё') > 0 OR strpos(coalesce(title, ''), 'Ё') > 0 "
               "OR strpos(coalesce(text, ''), 'ё') > 0 OR strpos(coalesce(text, ''), 'Ё') > 0)")


def downgrade() -> None:
    pass  # lexemes computed again are the matcher's: the older ones are not brought back

"""articles.stems and PostgreSQL's lexemes: articles with ى (or, stemmed in another language
than Russian, with ё) computed again

The matcher now takes a word's last ``ى`` (alef maqsura) as ``ي`` (yeh): Egyptian print
writes ``الأمريكى`` for ``الأمريكي`` (see monitor.rules.unicode61). The stems of an article
with ``ى`` were computed from its words as written, and so were PostgreSQL's lexemes: a
stemmed search for ``الأمريكي`` would not take an article with ``والأمريكى`` as a candidate.
The same holds for ``ё``, folded to ``е`` since migration 0026, in an article stemmed in
another language than Russian (Snowball's Russian stemmer folds ``ё`` itself). Those articles'
stems, and on PostgreSQL their lexemes, are set to NULL: every search takes such an article
as a candidate until ``monitor db upgrade`` computes them again (it does after the
migrations, with its progress bar). Nearly every Arabic article has an ``ى`` (``على``,
``إلى``), so this is about every Arabic article.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def _has(letters: str) -> str:
    return "(" + " OR ".join(f"{column} LIKE '%{letter}%'" for letter in letters
                             for column in ("title", "text")) + ")"


def upgrade() -> None:
    alef_maqsura, yo = _has("\u0649"), _has("ёЁ")
    op.execute(f"UPDATE articles SET stems = NULL WHERE stems IS NOT NULL AND ({alef_maqsura} "
               f"OR ({yo} AND (language IS NULL OR language <> 'ru')))")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"UPDATE articles SET text_tokens = NULL "
                   f"WHERE text_tokens IS NOT NULL AND {alef_maqsura}")


def downgrade() -> None:
    pass  # computed stems and lexemes are the matcher's: the older ones are not brought back

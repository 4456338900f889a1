"""articles.stems and PostgreSQL's lexemes: articles with an alef with a hamza or madda
computed again

The matcher now takes an alef with a hamza or madda (``أ``, ``إ``, ``آ``) as a bare alef
(``ا``): many Arabic texts write ``اسرائيل`` for ``إسرائيل`` and ``الان`` for ``الآن`` (see
monitor.rules.unicode61). PostgreSQL's lexemes are the matcher's tokens, and an article's
stems are the stems of those tokens: Snowball's Arabic stemmer folds the hamza itself, but not
before it takes the article off (``ألمانيا`` stemmed to ``الماني``, ``المانيا`` to ``مانيا``),
so the stems of every article with these letters, in any language, change. Those articles'
stems, and on PostgreSQL their lexemes, are set to NULL: every search takes such an article
as a candidate until ``monitor db upgrade`` computes them again (it does after the
migrations, with its progress bar). Nearly every Arabic article has one of these letters.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

_ALEFS = "[\u0622\u0623\u0625]"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    has = " OR ".join(f"{column} ~ '{_ALEFS}'" if postgres else f"{column} GLOB '*{_ALEFS}*'"
                      for column in ("title", "text"))
    op.execute(f"UPDATE articles SET stems = NULL WHERE stems IS NOT NULL AND ({has})")
    if postgres:
        op.execute(f"UPDATE articles SET text_tokens = NULL WHERE text_tokens IS NOT NULL "
                   f"AND ({has})")


def downgrade() -> None:
    pass  # computed stems and lexemes are the matcher's: the older ones are not brought back

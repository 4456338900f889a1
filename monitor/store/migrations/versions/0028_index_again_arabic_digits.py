"""articles.stems and PostgreSQL's lexemes: articles with Arabic-Indic or Persian digits
computed again

The matcher now takes Arabic-Indic (``٢٨``) and Persian (``۲۸``) digits as ASCII ones
(``28``): a rule's ``"28 نقطة"`` missed an article writing ``٢٨ نقطة`` (see
monitor.rules.unicode61). PostgreSQL's lexemes are the matcher's tokens, and the stems of an
article in another language than Arabic (whose Snowball stemmer folds the digits itself)
were computed from the digits as written: such an article would not be a candidate of a
search for ``28``. Those articles' stems, and on PostgreSQL their lexemes, are set to NULL:
every search takes such an article as a candidate until ``monitor db upgrade`` computes them
again (it does after the migrations, with its progress bar).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 15:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_DIGITS = "[\u0660-\u0669\u06f0-\u06f9]"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    has = " OR ".join(f"{column} ~ '{_DIGITS}'" if postgres else f"{column} GLOB '*{_DIGITS}*'"
                      for column in ("title", "text"))
    op.execute(f"UPDATE articles SET stems = NULL WHERE stems IS NOT NULL AND ({has}) "
               "AND (language IS NULL OR language <> 'ar')")
    if postgres:
        op.execute(f"UPDATE articles SET text_tokens = NULL WHERE text_tokens IS NOT NULL "
                   f"AND ({has})")


def downgrade() -> None:
    pass  # computed stems and lexemes are the matcher's: the older ones are not brought back

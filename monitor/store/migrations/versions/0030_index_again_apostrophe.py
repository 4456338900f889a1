"""articles.stems and PostgreSQL's lexemes: articles with an apostrophe inside a Ukrainian
word computed again

The matcher now reads an apostrophe inside a Ukrainian or Belarusian word (``'``, ``’``, ``‘``
or a backtick, after a Cyrillic letter and before ``я ю є ї е ё і``) as the letter ``ʼ``
(U+02BC), which texts also write: ``перемир'я`` is one token, ``перемирʼя``, where it was two
(``перемир`` ``я``), so stemming reaches the word's other cases (see monitor.rules.unicode61),
and the Ukrainian lemmatizer now reads ``ʼ`` as its dictionary's ``'``. PostgreSQL's lexemes
are the matcher's tokens and an article's stems the stems of those tokens, so both change for
every article with such an apostrophe (or with ``ʼ`` there). Those articles' stems, and on
PostgreSQL their lexemes, are set to NULL: every search takes such an article as a candidate
until ``monitor db upgrade`` computes them again (it does after the migrations, with its
progress bar). SQLite's own index of the text is unchanged: the index queries ask it for both
spellings.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 18:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# A Cyrillic letter, an apostrophe of any kind, a vowel it stands before (as monitor.text's
# IN_WORD_APOSTROPHE, frozen here as of this revision). In an SQL string literal: ' doubled.
_APOSTROPHE = "[\u0400-\u0481\u048a-\u04ff][''\u2019\u2018`\u02bc][яюєїеёіЯЮЄЇЕЁІ]"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    has = " OR ".join(f"{column} ~ '{_APOSTROPHE}'" if postgres
                      else f"{column} GLOB '*{_APOSTROPHE}*'" for column in ("title", "text"))
    op.execute(f"UPDATE articles SET stems = NULL WHERE stems IS NOT NULL AND ({has})")
    if postgres:
        op.execute(f"UPDATE articles SET text_tokens = NULL WHERE text_tokens IS NOT NULL "
                   f"AND ({has})")


def downgrade() -> None:
    pass  # computed stems and lexemes are the matcher's: the older ones are not brought back

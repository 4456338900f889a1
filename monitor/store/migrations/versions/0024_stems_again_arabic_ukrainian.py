"""articles.stems: Arabic and Ukrainian articles' stems computed again

Arabic stemming now stems a word alike with and without its article (``والرهائن``, "and
the hostages", as ``الرهائن``; ``المفاوضات`` as ``مفاوضات``), and Ukrainian, which had no
stemmer, now has pymorphy3's lemmas (see monitor.rules.stem). The stems stored for such an
article before would keep its words apart from the rules' stems (a Ukrainian one has none at
all): a stemmed backtest or search would not take it as a candidate. The stems of articles stored
as Arabic or Ukrainian, and of those stored with no language (their stems followed a
detection), are set to NULL: every stemmed search takes such an article as a candidate
until ``monitor db upgrade`` computes them again (it does after the migrations, with its
progress bar). Articles in other languages keep theirs.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 00:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE articles SET stems = NULL WHERE stems IS NOT NULL "
               "AND (language IN ('ar', 'uk') OR language IS NULL)")


def downgrade() -> None:
    pass  # computed stems are stems: the older ones are not brought back

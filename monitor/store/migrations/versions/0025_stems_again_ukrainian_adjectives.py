"""articles.stems: Ukrainian articles' stems computed again

Ukrainian stemming now gives the forms of an adjective that the dictionary also lists under
its use as a noun or an adverb (``мирного``: of ``мирний``, or of the noun ``мирне``) the
adjective's lemma, where before such a form kept its own (see monitor.rules.stem). The stems
stored for a Ukrainian article before would keep ``мирного`` apart from a rule's ``мирний``:
a stemmed backtest or search would not take it as a candidate. The stems of articles stored
as Ukrainian, and of those stored with no language (their stems followed a detection), are
set to NULL: every stemmed search takes such an article as a candidate until ``monitor db
upgrade`` computes them again (it does after the migrations, with its progress bar).
Articles in other languages keep theirs.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 04:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE articles SET stems = NULL WHERE stems IS NOT NULL "
               "AND (language = 'uk' OR language IS NULL)")


def downgrade() -> None:
    pass  # computed stems are stems: the older ones are not brought back

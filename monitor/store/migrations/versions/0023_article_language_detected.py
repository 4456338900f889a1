"""articles.language_detected: whether an article's language was detected or declared

The daemon settles an article's language once, when it composes the article (the declared
one if the text could be in it, else a detected one), and stores it; read back as a plain
code it was taken as declared, and declared languages match a rule's ``languages`` exactly,
while a detected one may be either of a pair detection confuses (a rule asking for ``id``
accepts a detected ``ms``). Indonesian news detected as Malay then missed such a rule, live
and in backtests. True: detected; false: declared and checked; NULL for the rows stored
before: declared, checked when read, as they were.

An added nullable column (``ALTER TABLE ... ADD COLUMN``, no rebuild of ``articles``: its
text-index triggers stay).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("language_detected", sa.Boolean(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # DROP COLUMN without a table rebuild (SQLite 3.35+): the triggers stay.
        op.execute("ALTER TABLE articles DROP COLUMN language_detected")
    else:
        op.drop_column("articles", "language_detected")

"""feeds.page_warning: the unread-pages note of the last poll that fetched article pages,
kept by polls that fetch none (a 304, no new entries), so a site that blocks every page
fetch stays visible in the feed's health instead of showing only on polls with new entries;
feeds.pages_unread_streak and pages_unread_since: new pages in a row none of which was read,
and since when, for the admin notice of a site that blocks the fetcher

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite has dropped columns since 3.35): a batch
# rebuild of ``feeds``, which most tables reference, failed on SQLite with "database table is
# locked" when tests/store/test_migrate_check.py downgrades past it.


def upgrade() -> None:
    op.add_column("feeds", sa.Column("page_warning", sa.Text(), nullable=True))
    op.add_column("feeds", sa.Column("pages_unread_streak", sa.Integer(), nullable=False,
                                     server_default="0"))
    op.add_column("feeds", sa.Column("pages_unread_since", sa.DateTime(timezone=True),
                                     nullable=True))


def downgrade() -> None:
    op.drop_column("feeds", "pages_unread_since")
    op.drop_column("feeds", "pages_unread_streak")
    op.drop_column("feeds", "page_warning")

"""indexes on feed_entries.article_id, story_bands.article_id and notifications.story_id:
each deleted article or story made the database scan those tables (its foreign-key checks), so
a prune of 40,000 stories took 8 minutes in write transactions longer than a daemon waits

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_feed_entries_article_id", "feed_entries", "article_id"),
    ("ix_story_bands_article_id", "story_bands", "article_id"),
    ("ix_notifications_story_id", "notifications", "story_id"),
)


def upgrade() -> None:
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    for name, table, _column in _INDEXES:
        op.drop_index(name, table_name=table)

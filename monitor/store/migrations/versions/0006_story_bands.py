"""story_bands: the story index shared by every daemon on the database

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:40:00.000000

The table starts empty: each daemon, at start, indexes the recent stored articles of stories
that have no rows yet (monitor.stories.StoryRegistry.load), as it used to rebuild its
in-memory index. Stored signatures are kept as they are (the older 8-byte format is read).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_bands",
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band_key", "article_id", name="pk_story_bands"),
    )
    op.create_index("ix_story_bands_story_id", "story_bands", ["story_id"])
    op.create_index("ix_story_bands_published_at", "story_bands", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_story_bands_published_at", table_name="story_bands")
    op.drop_index("ix_story_bands_story_id", table_name="story_bands")
    op.drop_table("story_bands")

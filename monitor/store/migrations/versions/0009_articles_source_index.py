"""articles: index on source_name for the web view's outlet filter

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:25:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_source_name", "articles", ["source_name"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_articles_source_name", table_name="articles")

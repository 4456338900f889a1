"""feed_entries.fingerprint and revisions: a known entry the feed shows changed (a developing
story: new paragraphs, a new headline, a later <updated>) is fetched again and matched again,
at most polling.max_revisions times; NULL fingerprints (entries seen before this revision) are
recorded at the next poll without a fetch, so the upgrade re-fetches nothing

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("revisions", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("revised_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_entries", schema=None) as batch_op:
        batch_op.drop_column("revised_at")
        batch_op.drop_column("revisions")
        batch_op.drop_column("fingerprint")

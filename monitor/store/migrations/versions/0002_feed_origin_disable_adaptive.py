"""feeds: origin (config or cli), disabling after parse failures, adaptive polling state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        # Existing rows all came from monitor.yaml: the server default says so.
        batch_op.add_column(sa.Column("origin", sa.String(length=16), server_default="config",
                                      nullable=False))
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("parse_failures", sa.Integer(), server_default="0",
                                      nullable=False))
        batch_op.add_column(sa.Column("entry_rate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("poll_interval_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("poll_interval_seconds")
        batch_op.drop_column("entry_rate")
        batch_op.drop_column("parse_failures")
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("origin")

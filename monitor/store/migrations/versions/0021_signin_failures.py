"""signin_failures: failed sign-ins in the database, so the limits on guessing hold across
a restart of the web view and across every process serving it (each kept its own counts in
memory: a restart forgot them, and two processes allowed twice as many guesses).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signin_failures_key_failed_at", "signin_failures",
                    ["key_hash", "failed_at"])
    op.create_index("ix_signin_failures_failed_at", "signin_failures", ["failed_at"])


def downgrade() -> None:
    op.drop_index("ix_signin_failures_failed_at", table_name="signin_failures")
    op.drop_index("ix_signin_failures_key_failed_at", table_name="signin_failures")
    op.drop_table("signin_failures")

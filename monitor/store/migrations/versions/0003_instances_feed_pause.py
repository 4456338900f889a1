"""instances (daemon heartbeats) and feeds.paused_until (Retry-After pauses)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_cycle_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_cycle", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_instances_heartbeat_at"), "instances", ["heartbeat_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_instances_heartbeat_at"), table_name="instances")
    op.drop_table("instances")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("paused_until")

"""instances.restart_pending: settings of monitor.yaml a daemon reloaded but applies only after
a restart (``monitor status`` shows them)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restart_pending", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("restart_pending")

"""notifications.in_digest: an alert released into a digest (the rate cap counts only the
alerts a rule sent on their own)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        # Rows sent before are counted as before (on their own): the cap errs on holding.
        batch_op.add_column(sa.Column("in_digest", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("in_digest")

"""web_sessions.credential: the fingerprint of the password a session signed in with, so that
a new password under web.users ends the sessions opened with the old one (they stayed valid
for their whole lifetime). Sessions from before have none: they sign in again once.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("web_sessions", sa.Column("credential", sa.String(64), nullable=False,
                                            server_default=""))


def downgrade() -> None:
    op.drop_column("web_sessions", "credential")

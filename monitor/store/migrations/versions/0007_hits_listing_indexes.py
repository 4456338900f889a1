"""hits: (rule_id, matched_at, id) and (matched_at, id) indexes for newest-first listings

``monitor hits --rule X --limit 50`` read every hit of the rule and sorted them; these
indexes give the newest first in index order. They replace the single-column indexes on
rule_id and matched_at (their leading columns serve the same lookups).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:45:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_hits_rule_matched", "hits", ["rule_id", "matched_at", "id"],
                    unique=False)
    op.create_index("ix_hits_matched", "hits", ["matched_at", "id"], unique=False)
    op.drop_index("ix_hits_rule_id", table_name="hits")
    op.drop_index("ix_hits_matched_at", table_name="hits")


def downgrade() -> None:
    op.create_index("ix_hits_matched_at", "hits", ["matched_at"], unique=False)
    op.create_index("ix_hits_rule_id", "hits", ["rule_id"], unique=False)
    op.drop_index("ix_hits_matched", table_name="hits")
    op.drop_index("ix_hits_rule_matched", table_name="hits")

"""articles whose page failed transiently, indexed: a poll finds the entries it no longer lists
whose page is still to be tried again (monitor.store.revising.unlisted_retries) without
reading every entry of the feed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 13:00:00.000000

A partial index on the fetch time, on both databases: only the articles with such an error
are in it, and the query reads the recent ones (failures given up long ago stay in it). Its
condition is written out as the query writes it (tests/store/test_revising.py holds the two
to TRANSIENT_FETCH_CODES), so that each planner sees the query imply it.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CONDITION = "articles.error IN ('fetch_error', 'rate_limited', 'server_error', 'timeout_total')"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_articles_page_retry ON articles (fetched_at) WHERE {CONDITION}")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_articles_page_retry")

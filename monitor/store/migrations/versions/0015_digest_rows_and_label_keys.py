"""notifications.digest_key and digest_message: a digest's rows and message are recorded
before it is first sent, so a retry (after an unanswered send, a crash) sends that message
again with the same Idempotency-Key, and the alerts that joined meanwhile go in the next one;
and the rows of a destination read from a ${VAR} are keyed by its masked label, which a
rotated secret leaves unchanged (a copy of a story found after the rotation queued a second
alert to the same destination)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 10:00:00.000000
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# A masked label naming the ${VAR} its URL was read from (monitor.delivery.channels).
_FROM_VARIABLE = re.compile(r" \(\$\{[^{}]+\}\)$")
_UNSENT = ("pending", "held", "digest")


def _label_key(label: str) -> str:
    # A copy of monitor.delivery.channels.destination_key for a label: a migration must not
    # change with the code.
    return hashlib.sha256(f"label\x1f{label}".encode()).hexdigest()[:32]


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("digest_message", sa.Text(), nullable=True))
        batch_op.create_index("ix_notifications_digest_key", ["digest_key"], unique=False)
    _key_by_label(op.get_bind())


def _key_by_label(conn: sa.Connection) -> None:
    """Give the rows of ${VAR} destinations their label's key, as the dispatcher now does, so
    that a row queued before the upgrade still stops a later copy of its story.

    Kept as they are: a row that may be sent again after an attempt (retrying, dead or of
    unknown outcome; its receiver may know it by its key) and, where rotations made several
    rows for one alert and label, all but the first."""
    rows = conn.execute(sa.text(
        "SELECT id, dedupe_key, channel, destination, status, attempts, lease_owner "
        "FROM notifications WHERE destination LIKE :pattern ORDER BY id"),
        {"pattern": "% (${%})"}).all()
    taken: set[tuple[str, str, str]] = set()
    moves: list[dict[str, object]] = []
    for row in rows:
        if not _FROM_VARIABLE.search(row.destination):
            continue
        never_sent = row.status in _UNSENT and row.attempts == 0 and row.lease_owner is None
        if row.status != "sent" and not never_sent:
            continue
        key = _label_key(row.destination)
        if (row.dedupe_key, row.channel, key) not in taken:
            taken.add((row.dedupe_key, row.channel, key))
            moves.append({"id": row.id, "key": key})
    if moves:
        conn.execute(sa.text("UPDATE notifications SET destination_key = :key WHERE id = :id"),
                     moves)


def downgrade() -> None:
    # The label keys stay: the older code finds their URL by the label (channels.url_for).
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_digest_key")
        batch_op.drop_column("digest_message")
        batch_op.drop_column("digest_key")

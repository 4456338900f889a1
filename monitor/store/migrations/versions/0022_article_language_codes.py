"""articles.language: the codes pages wrote, as the rules read them

Articles stored before compose_article normalised the page's own language keep it as the
page wrote it (``en-US``, ``en-gb``, ``ua``, ``rus``), while newer ones hold the code the
rules use (``en``, ``uk``, ``ru``): the web view's language filter, which compares the stored
value, listed both and found each half under its own choice. Each stored value that reads as
another code becomes that code. A value that names no language (``zz``) stays as it is.

Where the language itself changes, not only its spelling (``ua`` is Ukrainian, ``rus``
Russian: the stems were computed by whatever the old reading gave), the row's stems are set to
NULL: every stemmed search takes it as a candidate until ``monitor db upgrade`` computes them
again (it does after the migrations, with its progress bar). ``en-US`` keeps its stems: it was
read as ``en`` before too. The reading is today's :func:`normalize_language`; a later change to
it is not applied to stored rows by this migration.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.language_codes import normalize_language

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    stored = bind.execute(sa.text(
        "SELECT DISTINCT language FROM articles WHERE language IS NOT NULL")).scalars().all()
    for written in stored:
        code = normalize_language(written)
        if code is None or code == written:
            continue
        respelt = written.replace("_", "-").split("-")[0].casefold() == code
        bind.execute(sa.text(
            "UPDATE articles SET language = :code WHERE language = :written" if respelt else
            "UPDATE articles SET language = :code, stems = NULL WHERE language = :written"),
            {"code": code, "written": written})


def downgrade() -> None:
    pass  # the codes as pages wrote them are not kept: the normalised ones stay

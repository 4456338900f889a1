"""A damaged SQLite file, made as a failing disk would: bytes overwritten in one of its pages."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def damage_page(path: Path, name: str) -> int:
    """Overwrite the page header of table or index ``name``'s root page in the SQLite file at
    ``path`` (its WAL checkpointed into the file first); returns the page's number."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.execute("PRAGMA page_size").fetchone()[0]
        root = int(db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                              (name,)).fetchone()[0])
    with path.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(b"\xff" * 64)
    return root

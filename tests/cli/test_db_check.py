"""A damaged SQLite file: ``monitor db status`` checks it (PRAGMA quick_check), ``monitor db
upgrade`` refuses to change it, and the daemon's start names it, each in one line."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from monitor.store import Store, upgrade
from tests.cli_support import cli
from tests.store.damage_support import damage_page
from tests.store_support import FakeClock, article, console_route, feed, hit


def run(config: Path, *args: str) -> tuple[int, str, str]:
    code, out, err = cli(*args, config=config)
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "m.db"


@pytest.fixture
def config(tmp_path: Path, db: Path) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump({"database_url": f"sqlite:///{db}"}), encoding="utf-8")
    path.chmod(0o600)
    return path


def _fill(db: Path, revision: str = "head") -> None:
    """One feed, one article and its hit, in a database at ``revision``: stored by today's
    code at the head, then migrated down (today's ORM reads columns older schemas lack)."""
    from alembic import command

    from monitor.store.migrate import _alembic_config

    store = Store.open(f"sqlite:///{db}", db.parent, FakeClock())
    upgrade(store.engine)
    store.sync_feeds([feed()])
    store.save_article(store.feed_health()[0].id, article(), [hit()], console_route)
    if revision != "head":
        cfg = _alembic_config()
        with store.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)
    store.close()


def _revision(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_db_status_says_the_file_is_sound(config: Path) -> None:
    assert run(config, "db", "upgrade")[0] == 0
    code, out, err = run(config, "db", "status")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("file:     sound (PRAGMA quick_check, ")


@pytest.mark.parametrize("name", ["ix_articles_fetched_at", "feeds"])
def test_db_status_names_the_file_and_its_first_damaged_page(config: Path, db: Path,
                                                             name: str) -> None:
    """The schema and the revision still read: only the whole-file check sees the damage."""
    _fill(db)
    page = damage_page(db, name)
    code, out, err = run(config, "db", "status")
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"monitor: the database file {db} is damaged: Page {page}: "), err
    assert err.endswith(" (PRAGMA quick_check); restore it from a backup\n"), err


def test_db_upgrade_refuses_a_damaged_file_before_changing_it(config: Path, db: Path) -> None:
    _fill(db, "0016")  # a migration to run
    damage_page(db, "ix_articles_fetched_at")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    code, out, err = run(config, "db", "upgrade")
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"monitor: the database file {db} is damaged: Page "), err
    assert err.endswith(" (PRAGMA quick_check); nothing was changed\n"), err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert _revision(db) == "0016"


def test_db_upgrade_checks_a_file_it_migrates(config: Path, db: Path) -> None:
    _fill(db, "0016")
    code, out, err = run(config, "db", "upgrade")
    assert code == 0, err
    assert out.startswith("database file sound (PRAGMA quick_check, ")
    assert _revision(db) != "0016"


def test_db_upgrade_with_nothing_to_do_reads_no_page(config: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """It runs before every daemon start: a current database is not read whole each time."""
    import monitor.store

    assert run(config, "db", "upgrade")[0] == 0

    def unexpected(*_args: object) -> None:
        raise AssertionError("quick_check ran with nothing to change")

    monkeypatch.setattr(monitor.store, "quick_check", unexpected)
    code, out, err = run(config, "db", "upgrade")
    assert code == 0, err
    assert "PRAGMA quick_check" not in out


def test_the_daemon_start_names_a_damaged_file_in_one_line(config: Path, db: Path) -> None:
    """Its first read of the feeds meets the damaged page: no traceback, exit 1."""
    _fill(db)
    damage_page(db, "feeds")
    code, _out, err = run(config, "run", "--once")
    assert code == 1
    assert err == (f"monitor: the database file {db} is damaged: database disk image is "
                   "malformed\n")

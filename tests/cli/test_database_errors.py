"""A database that cannot be opened, or that a newer newsmonitor upgraded: every command that
reads it says so in one line (exit 2), never with a traceback or the password."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli import app
from tests.permissions_support import needs_permissions

COMMANDS = [
    ("db", "status"), ("hits",), ("feeds",), ("status",),
    ("feeds", "add", "--no-fetch", "https://b.example/feed"), ("db", "prune"),
    ("web", "token", "list"), ("web", "token", "create", "x"), ("notifications",),
]


def run(config: Path, *args: str) -> tuple[int, str, str, BaseException | None]:
    result = CliRunner().invoke(app, ["--config", str(config), *args],
                                env={"MONITOR_DATABASE_URL": None, "MONITOR_CONFIG": None})
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.stdout, result.stderr, exception


def config_for(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump({"database_url": url}), encoding="utf-8")
    config.chmod(0o600)
    return config


def assert_one_line(code: int, err: str, exc: BaseException | None, *words: str) -> None:
    assert exc is None, repr(exc)
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("monitor: cannot open the database "), err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_file_that_is_not_a_database(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "m.db").write_bytes(b"this is not a database, " * 100)
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    code, _out, err, exc = run(config, *args)
    assert_one_line(code, err, exc, "file is not a database")


@pytest.mark.parametrize("args", COMMANDS[:3], ids=" ".join)
def test_a_database_path_that_is_a_folder(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "m.db").mkdir()
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    code, _out, err, exc = run(config, *args)
    assert_one_line(code, err, exc, "unable to open database file")


@pytest.mark.parametrize("args", [*COMMANDS, ("db", "upgrade")], ids=" ".join)
def test_an_unreachable_postgresql_server_without_its_password(tmp_path: Path,
                                                              args: tuple[str, ...]) -> None:
    pytest.importorskip("psycopg")
    config = config_for(tmp_path, "postgresql+psycopg://u:S3cretPw@127.0.0.1:1/news")
    code, _out, err, exc = run(config, *args)
    assert_one_line(code, err, exc, "postgresql+psycopg://u:***@127.0.0.1:1/news")
    assert "S3cretPw" not in err


def test_db_upgrade_where_the_folder_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("x")
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'plain-file' / 'var' / 'm.db'}")
    code, _out, err, exc = run(config, "db", "upgrade")
    assert_one_line(code, err, exc, "cannot create its folder")


@needs_permissions
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_read_only_database(tmp_path: Path, args: tuple[str, ...]) -> None:
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    assert run(config, "db", "upgrade")[0] == 0
    for name in ("m.db", "m.db-wal", "m.db-shm"):
        if (tmp_path / name).exists():
            (tmp_path / name).chmod(0o400)
    tmp_path.chmod(0o500)
    try:
        code, _out, err, exc = run(config, *args)
    finally:
        tmp_path.chmod(0o700)
    assert_one_line(code, err, exc)


@needs_permissions
def test_db_upgrade_in_a_read_only_folder(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir(mode=0o500)
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'ro' / 'var' / 'm.db'}")
    code, _out, err, exc = run(config, "db", "upgrade")
    assert_one_line(code, err, exc, "cannot create its folder")


def test_a_database_from_a_newer_version_is_not_behind(tmp_path: Path) -> None:
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    assert run(config, "db", "upgrade")[0] == 0
    with sqlite3.connect(tmp_path / "m.db") as db:
        db.execute("update alembic_version set version_num='9999'")
    code, out, err, exc = run(config, "db", "status")
    assert exc is None and code == 0, err
    assert "status:   newer than this program (upgrade newsmonitor, not the database)" in out
    assert "behind" not in out
    for args in (("db", "upgrade"), ("hits",), ("feeds",)):
        code, out, err, exc = run(config, *args)
        assert exc is None and code == 2, (args, err)
        assert "newer than this program's" in err and "upgrade newsmonitor" in err, err
        assert "run `monitor db upgrade`" not in err and "Can't locate" not in err, err

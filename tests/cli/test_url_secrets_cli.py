"""Secrets written in URLs, through the real command line: never printed, and a mail channel
whose recipients apprise would drop is refused by ``check`` and ``run`` (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.feeds.opml import OpmlFeed, write_opml

FEED_PASSWORD = "FeedPw0rd77"
OPML_PASSWORD = "OpmlPass1"
SMTP_PASSWORD = "Sm7pPassw0rd"


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    Path("rules").mkdir()
    Path("monitor.yaml").write_text(f"database_url: sqlite:///{tmp_path / 'monitor.db'}\n",
                                    encoding="utf-8")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_feeds_import_masks_the_password_of_a_refused_outline() -> None:
    Path("good.opml").write_bytes(write_opml([
        OpmlFeed("https://ok.example/rss", "OK"),
        OpmlFeed(f"https://u:{OPML_PASSWORD}@opml-c.example/rss", "C")]))
    assert run("db", "upgrade")[0] == 0
    code, out, err = run("feeds", "import", "good.opml")
    assert code == 0, (out, err)
    assert OPML_PASSWORD not in out + err
    # One line (it used to wrap), the URL still recognisable.
    assert ("monitor: skipped https://u:****@opml-c.example/rss: credentials (user@host) in "
            "URL") in err.splitlines()
    assert "1 added" in out and "1 refused" in out


def test_feeds_add_masks_the_password_it_refuses() -> None:
    code, out, err = run("feeds", "add", f"https://feeduser:{FEED_PASSWORD}@feeds.example.net/rss")
    assert code == 2
    assert FEED_PASSWORD not in out + err
    assert "https://feeduser:****@feeds.example.net/rss" in err


def test_try_masks_the_password_it_refuses() -> None:
    code, out, err = run("try", f"https://feeduser:{FEED_PASSWORD}@feeds.example.net/a")
    assert code == 2
    assert FEED_PASSWORD not in out + err
    assert "https://feeduser:****@feeds.example.net/a" in err


CHANNEL = "channels:\n  a:\n    urls: ['${E1}']\n"


@pytest.mark.parametrize("recipient", ["not-an-email", "a@@b"])
def test_check_and_run_refuse_a_mail_channel_without_a_valid_recipient(
        monkeypatch: pytest.MonkeyPatch, recipient: str) -> None:
    monkeypatch.setenv("E1", f"mailtos://desk:{SMTP_PASSWORD}@smtp.example.com?to={recipient}")
    Path("monitor.yaml").write_text(CHANNEL, encoding="utf-8")
    Path("monitor.yaml").chmod(0o600)
    expected = (f"monitor.yaml:3: channels.a.urls[0]: mailtos://desk:****@smtp.example.com"
                f"?to={recipient}: To '{recipient}' is not an email address; no To address is "
                "left, so no one would receive its mail")
    code, out, err = run("check")
    assert code == 1, (out, err)
    assert expected in out.splitlines()
    code, out, err = run("run", "--once")
    assert code == 2, (out, err)
    assert f"monitor: {expected}" in err.splitlines()
    assert SMTP_PASSWORD not in out + err

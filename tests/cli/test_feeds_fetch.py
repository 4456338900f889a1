"""``monitor feeds add`` fetching first (title, items, autodiscovery, the loopback hint),
``monitor feeds refresh`` and the list's filters, against a loopback HTTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli import app
from tests.fetch_support import LocalServer

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Loopback News</title><link>http://example.org/</link>
<item><title>One</title><link>http://example.org/1</link><guid>1</guid></item>
<item><title>Two</title><link>http://example.org/2</link><guid>2</guid></item>
</channel></rss>"""
PAGE = b"""<!doctype html><html><head><title>Home</title>
<link rel="alternate" type="application/rss+xml" title="All news" href="/feed.xml">
<link rel="alternate" type="application/atom+xml" href="/feed.xml">
</head><body>hello</body></html>"""


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        # The items link pages on the same loopback server: a refresh fetches them.
        srv.route("/feed.xml", body=RSS.replace(b"http://example.org", srv.url("").encode()),
                  headers={"Content-Type": "application/rss+xml"})
        for n in (1, 2):
            srv.route(f"/{n}", body=f"<html><body><article><p>Item {n}.</p></article></body>"
                      "</html>".encode(), headers={"Content-Type": "text/html"})
        srv.route("/", body=PAGE, headers={"Content-Type": "text/html; charset=utf-8"})
        yield srv


def cli(tmp_path: Path, *args: str, allow: bool = True, code: int = 0,
        stdin: str | None = None) -> str:
    config = tmp_path / "monitor.yaml"
    settings: dict[str, object] = {"database_url": f"sqlite:///{tmp_path / 'm.db'}"}
    if allow:
        settings["http"] = {"allow_private_networks": ["127.0.0.1/32"]}
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), *args], input=stdin,
                                env={"MONITOR_DATABASE_URL": None, "MONITOR_CONFIG": None})
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    # Log lines (the fetcher's start-up warning about allow_private_networks) aside.
    logged = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+\+00:00 (WARNING|INFO) ")
    return "".join(line for line in (result.stdout + result.stderr).splitlines(keepends=True)
                   if not logged.match(line))


def test_add_fetches_once_and_shows_the_title_and_item_count(tmp_path: Path,
                                                            server: LocalServer) -> None:
    cli(tmp_path, "db", "upgrade")
    url = server.url("/feed.xml")
    assert cli(tmp_path, "feeds", "add", url) == f"added: Loopback News <{url}> (2 items)\n"
    assert cli(tmp_path, "feeds", "add", url, "--name", "Mine") == (
        f"updated: Mine <{url}>: name 'Loopback News' -> 'Mine' (titled 'Loopback News', "
        "2 items)\n")
    assert server.hits["/feed.xml"] == 2


def test_a_loopback_refusal_names_the_setting_that_allows_it(tmp_path: Path,
                                                            server: LocalServer) -> None:
    cli(tmp_path, "db", "upgrade", allow=False)
    url = server.url("/feed.xml")
    out = cli(tmp_path, "feeds", "add", url, allow=False, code=1)
    assert out == (f"monitor: {url}: blocked_address: refused 127.0.0.1: it is a loopback "
                   "address; to allow it, add 127.0.0.1/32 (or its network) to "
                   "http.allow_private_networks; not added (--no-fetch adds it unchecked)\n")
    assert server.total_hits == 0


def test_add_finds_the_feed_behind_a_web_page_and_offers_it(tmp_path: Path,
                                                           server: LocalServer) -> None:
    cli(tmp_path, "db", "upgrade")
    page, feed = server.url("/"), server.url("/feed.xml")
    out = cli(tmp_path, "feeds", "add", page, "--tag", "local", stdin="y\n")
    assert out == (f"{page} is a web page; it advertises 1 feed:\n"
                   f"  1. All news <{feed}>\n"
                   f"Add {feed}? [Y/n]: y\n"
                   f"added: Loopback News <{feed}> (2 items)\n")
    declined = cli(tmp_path, "feeds", "add", page, stdin="n\n", code=1)
    assert declined.endswith("monitor: not added\n")


def test_refresh_polls_now_and_the_list_filters_by_status_and_tag(
        tmp_path: Path, server: LocalServer) -> None:
    cli(tmp_path, "db", "upgrade")
    feed = server.url("/feed.xml")
    cli(tmp_path, "feeds", "add", feed, "--tag", "local")
    cli(tmp_path, "feeds", "add", "--no-fetch", server.url("/gone.xml"), "--name", "Gone")
    server.hits.clear()
    out = cli(tmp_path, "feeds", "refresh", feed)
    assert out.startswith(f"Loopback News <{feed}>: ok, 2 entries seen, next poll in ")
    assert server.hits["/feed.xml"] == 1
    out = cli(tmp_path, "feeds", "refresh", "--all")
    assert f"Gone <{server.url('/gone.xml')}>: failed: http_status: " in out
    assert server.hits["/feed.xml"] == 2  # back-off or not, polled again now
    listing = cli(tmp_path, "feeds", "--status", "failing").splitlines()
    assert [line.split()[:2] for line in listing[:2]] == [["status", "name"], ["failing", "Gone"]]
    assert cli(tmp_path, "feeds", "--tag", "local").splitlines()[1].split()[:3] == [
        "ok", "Loopback", "News"]
    assert cli(tmp_path, "feeds", "--tag", "nosuch") == "no feeds match\n"
    assert cli(tmp_path, "feeds", "refresh", server.url("/feed.xm"), code=2) == (
        f"monitor: {server.url('/feed.xm')} is not in the feed list (did you mean {feed}?); "
        "monitor feeds lists them\n")


def test_add_says_when_a_feed_links_to_google_news_pages(tmp_path: Path,
                                                         server: LocalServer) -> None:
    """A Google News feed's items are matched on their headlines unless the links are
    resolved: adding one says so, and names the setting."""
    from tests.fetch_support import google_news_id

    link = f"https://news.google.com/rss/articles/{google_news_id(11)}?oc=5"
    server.route("/news.xml", body=RSS.replace(b"http://example.org/1", link.encode()),
                 headers={"Content-Type": "application/rss+xml"})
    cli(tmp_path, "db", "upgrade")
    out = cli(tmp_path, "feeds", "add", server.url("/news.xml"))
    assert out.startswith("added: Loopback News") and "http.resolve_google_news: true" in out
    assert "note:" not in cli(tmp_path, "feeds", "add", server.url("/feed.xml"))

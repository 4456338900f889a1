"""robots.txt as RFC 9309 reads it: the longest matching rule wins (allow on a tie), ``*``
and ``$`` are wildcards, groups are chosen by product token (``urllib.robotparser`` took
the first rule in file order and read wildcards literally)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.errors import RobotsDisallowedError
from monitor.net.politeness import RobotsRules
from tests.fetch_support import LocalServer, NetworkGuard, fetcher_for

AGENT = "newsmonitor/0.1 (+https://example.org)"


@pytest.mark.parametrize(("robots", "path", "allowed"), [
    # A site closed except for one section: its articles are open.
    ("Disallow: /\nAllow: /news/", "/news/2024/ceasefire.html", True),
    ("Disallow: /\nAllow: /news/", "/shop/", False),
    ("Disallow: /news/\nAllow: /news/public/", "/news/public/a", True),
    # Open except for one section, whatever the order of the lines.
    ("Allow: /\nDisallow: /private/", "/private/a", False),
    ("Allow: /\nDisallow: /private/", "/news/a", True),
    # Wildcards.
    ("Disallow: /*?print=", "/a?print=1", False),
    ("Disallow: /*?print=", "/a?id=1", True),
    ("Disallow: /*.pdf$", "/files/a.pdf", False),
    ("Disallow: /*.pdf$", "/files/a.pdf?download=1", True),
    ("Disallow: /*/amp", "/news/1/amp", False),
    # A tie between equally long rules goes to allow; robots.txt itself is always allowed.
    ("Disallow: /page\nAllow: /page", "/page", True),
    ("Disallow: /", "/robots.txt", True),
    # Percent-encoding does not matter.
    ("Disallow: /%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/", "/новости/1", False),
    ("Disallow:", "/anything", True),
])
def test_rfc9309_precedence_and_wildcards(robots: str, path: str, allowed: bool) -> None:
    rules = RobotsRules.from_answer(200, f"User-agent: *\n{robots}\n".encode())
    assert rules.can_fetch(AGENT, f"https://news.example{path}") is allowed


def test_the_group_naming_the_product_token_is_used_alone() -> None:
    rules = RobotsRules.from_answer(200, b"User-agent: Googlebot\nUser-agent: NewsMonitor\n"
                                         b"Disallow: /drafts\n\nUser-agent: *\nDisallow: /\n")
    assert rules.can_fetch(AGENT, "https://news.example/news/1")
    assert not rules.can_fetch(AGENT, "https://news.example/drafts/1")
    assert not rules.can_fetch("otherbot/2.0", "https://news.example/news/1")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with NetworkGuard(), LocalServer() as s:
        yield s


def test_an_article_in_the_one_open_section_is_fetched(server: LocalServer) -> None:
    server.route("/robots.txt", body=b"User-agent: *\nDisallow: /\nAllow: /news/\n")
    server.route("/news/1", body=b"article")
    server.route("/admin", body=b"hidden")
    with fetcher_for(server, respect_robots_txt=True) as fetcher:
        assert fetcher.fetch_page(server.url("/news/1")).content == b"article"
        with pytest.raises(RobotsDisallowedError):
            fetcher.fetch_page(server.url("/admin"))
    assert server.hits["/admin"] == 0

"""A store seeded with the seed articles, a hostile article and a plain one, matched by the
repository's rules; and a web app over it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.testclient import TestClient

from monitor.config import Config, WebConfig
from monitor.models import Article
from monitor.rules import Matcher, RuleBook, compile_rules, load_rules
from monitor.store import Store, TextIndex
from monitor.web import create_app
from tests.store_support import FakeClock, console_route, feed, open_store

REPO = Path(__file__).resolve().parent.parent
HOSTILE_TITLE = ('Gaza ceasefire: Hamas and Israel <script>alert("t")</script>'
                 '<img src=x onerror=alert(1)>')
HOSTILE_TEXT = ('Qatar pushes a Gaza ceasefire as Hamas and Israel talk. '
                '<script>alert("b")</script><iframe src="https://evil.example/"></iframe>'
                '<img src="https://evil.example/pixel.png"> <a href="javascript:alert(2)">x</a>'
                ' "><svg onload=alert(3)> {{7*7}} ') * 3


def seed_articles() -> list[Article]:
    out = []
    for i, path in enumerate(sorted((REPO / "seeds" / "articles").glob("*.txt"))):
        title, _, text = path.read_text(encoding="utf-8").strip().partition("\n")
        if title.strip() == "International":
            title, _, text = text.strip().partition("\n")
        out.append(Article(url=f"https://seed.example/{i}", title=title.strip(), text=text,
                           source_name=f"Seed outlet {i}", feed_url="https://news.example/feed.xml",
                           entry_key=f"seed:{i}", text_source="page", language="id",
                           content_hash=f"s{i}"))
    out.append(Article(url="javascript:alert(9)", title=HOSTILE_TITLE, text=HOSTILE_TEXT,
                       source_name='Evil <b>outlet</b>', feed_url="https://news.example/feed.xml",
                       entry_key="evil", text_source="page", language="en", content_hash="e"))
    out.append(Article(url="https://plain.example/1", title="Weather in Jakarta",
                       text="Rain again today in Jakarta.", source_name="Plain",
                       feed_url="https://news.example/feed.xml", entry_key="plain",
                       text_source="page", language="en", content_hash="p"))
    return out


@lru_cache(maxsize=1)
def repo_book() -> RuleBook:
    """The repository's rules and entities, loaded once per test process."""
    return load_rules(REPO / "rules")


@lru_cache(maxsize=1)
def repo_matcher() -> Matcher:
    return compile_rules(repo_book())


def seeded_store(url: str, clock: FakeClock | None = None) -> Store:
    store = open_store(url, clock)
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    matcher = repo_matcher()
    for art in seed_articles():
        store.save_article(feed_id, art, matcher.match(art.document()), console_route)
    TextIndex(store).index_pending()  # as the daemon does after it saved them
    return store


def config(tmp_path: Path, url: str, **web: object) -> Config:
    return Config(base_dir=tmp_path, database_url=url, rules_dir=REPO / "rules",
                  web=WebConfig(**web))


def client(store: Store, cfg: Config, base_url: str = "http://127.0.0.1") -> TestClient:
    """A client of the app; at a loopback address, the only one answered without sign-in."""
    return TestClient(create_app(cfg, store), base_url=base_url, follow_redirects=False)


def csrf_of(c: TestClient) -> str:
    """The CSRF token the client's cookie carries (made by a first GET)."""
    if "nm_csrf" not in c.cookies:
        c.get("/login")
    return str(c.cookies["nm_csrf"])

"""Builders and a controllable clock for tests that use the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.models import Article, Evidence, FeedSource, RuleHit
from monitor.store import Route, Store, upgrade


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def open_store(url: str, clock: FakeClock | None = None) -> Store:
    store = Store.open(url, Path.cwd(), clock or FakeClock())
    upgrade(store.engine)
    return store


def feed(url: str = "https://news.example/feed.xml", name: str = "Example News") -> FeedSource:
    return FeedSource(url=url, name=name, interval_seconds=600)


def article(url: str = "https://news.example/a/1", title: str = "Gencatan senjata di Gaza",
            source: str = "Example News", key: str = "guid:1") -> Article:
    return Article(url=url, title=title, text="Qatar dan Mesir mendesak gencatan senjata.",
                   source_name=source, feed_url="https://news.example/feed.xml", entry_key=key,
                   text_source="page", language="id", content_hash="h1")


def hit(rule: str = "gaza") -> RuleHit:
    ev = Evidence(term="gaza", matched="Gaza", field="title", start=19, end=23,
                  snippet="Gencatan senjata di Gaza")
    return RuleHit(rule_id=rule, rule_name=rule.title(), evidence=(ev,))


def console_route(_hit: RuleHit) -> list[Route]:
    return [Route("console", "console", "console")]


def reset_postgres(url: str) -> None:
    """Empty a throwaway PostgreSQL database: its public schema dropped and made again."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()

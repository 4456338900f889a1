"""Retention (monitor.store.retention) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.config import RetentionConfig
from monitor.errors import StoreError
from monitor.store import Access, Outbox, Store, prune, prune_plan
from monitor.store.schema import ArticleRow, DeliveryAttemptRow
from tests.store_support import FakeClock, article, console_route, feed, hit, open_store

DAY = 86400.0


def _send_all(store: Store) -> None:
    outbox = Outbox(store)
    for note in outbox.claim("me", timedelta(minutes=5), 100):
        outbox.record_sent(note.id, "me")


def _texts(store: Store) -> dict[str, str]:
    with store.read() as session:
        return dict(session.execute(select(ArticleRow.canonical_url, ArticleRow.text)).all())


def test_prune_drops_old_text_keeps_hits_and_snippets_and_spares_pending(
        store: Store, clock: FakeClock) -> None:
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    store.save_article(fid, article("https://a.example/old", key="k1"), [hit()], console_route)
    _send_all(store)  # the old alert went out
    store.save_article(fid, article("https://a.example/pending", key="k2"), [hit("other")],
                       console_route)  # never sent: still pending
    clock.advance(100 * DAY)
    store.save_article(fid, article("https://a.example/new", key="k3"), [], console_route)
    retention = RetentionConfig(article_text=90 * DAY, articles=None, notifications=None,
                                attempts=None)
    plan = {p.step: p.rows for p in prune_plan(store, retention)}
    assert plan == {"article_text": 1, "attempts": 0, "notifications": 0, "articles": 0}
    done = prune(store, retention)
    assert done["article_text"] == 1
    texts = _texts(store)
    assert texts["https://a.example/old"] == ""
    assert texts["https://a.example/pending"] != ""  # a pending notification needs it
    assert texts["https://a.example/new"] != ""
    hits = {h.url: h for h in store.hits()}
    assert hits["https://a.example/old"].evidence[0].snippet == "Gencatan senjata di Gaza"
    assert prune_plan(store, retention)[0].rows == 0  # nothing left to do
    assert prune(store, retention)["article_text"] == 0


def test_prune_removes_settled_notifications_attempts_and_old_stories(
        store: Store, clock: FakeClock) -> None:
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    store.save_article(fid, article("https://a.example/1", key="k1"), [hit()], console_route)
    _send_all(store)
    store.save_article(fid, article("https://a.example/2", key="k2"), [hit("p")],
                       console_route)  # pending forever (e.g. a channel that is down)
    outbox = Outbox(store)
    (note,) = outbox.claim("me", timedelta(minutes=5), 10)
    outbox.record_failure(note.id, "me", "down", clock() + timedelta(days=1))
    clock.advance(400 * DAY)
    retention = RetentionConfig()  # the defaults
    plan = {p.step: p.rows for p in prune_plan(store, retention)}
    assert plan["notifications"] == 1 and plan["articles"] == 1
    assert plan["attempts"] == 1  # the sent row's; the pending row's attempt is kept
    prune(store, retention)
    assert store.count("notifications") == 1  # the pending one
    assert store.count("articles") == 1 and store.count("hits") == 1
    assert store.count("feed_entries") == 2  # entry keys stay: a relisted item is known
    assert store.unseen_entry_keys(fid, ["k1", "k2"]) == set()
    with store.read() as session:
        assert len(list(session.scalars(select(DeliveryAttemptRow.id)))) == 1



def test_feedback_stays_with_old_text_dropped_and_goes_with_its_story(
        store: Store, clock: FakeClock) -> None:
    """As README's retention says: a verdict lives as long as its hit, i.e. its story."""
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    store.save_article(fid, article("https://a.example/1", key="k1"), [hit()], console_route)
    _send_all(store)
    access = Access(store)
    (judged,) = store.hits()
    assert access.set_feedback(judged.id, True)
    clock.advance(100 * DAY)
    prune(store, RetentionConfig(article_text=90 * DAY, articles=None, notifications=None,
                                 attempts=None))
    assert _texts(store) == {"https://a.example/1": ""}
    assert access.feedback() == {judged.id: True}
    assert access.verdicts_by_article("gaza") != {}
    clock.advance(300 * DAY)
    plan = {p.step: p for p in prune_plan(store, RetentionConfig())}
    assert "feedback" in plan["articles"].what and plan["articles"].rows == 1
    prune(store, RetentionConfig())
    assert store.count("hits") == 0
    assert access.feedback() == {} and access.verdicts_by_article("gaza") == {}

def test_sqlite_gives_space_back(tmp_path: Path, clock: FakeClock) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", clock)
    try:
        store.sync_feeds([feed()])
        fid = store.feed_health()[0].id
        big = "x" * 20000
        for i in range(200):
            a = article(f"https://a.example/{i}", key=f"k{i}")
            store.save_article(fid, a.__class__(**{**a.__dict__, "text": big + str(i)}), [],
                               console_route)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2  # incremental
        size = (tmp_path / "m.db").stat().st_size + (tmp_path / "m.db-wal").stat().st_size
        clock.advance(100 * DAY)
        prune(store, RetentionConfig())
        store.close()  # the last connection checkpoints the WAL into the file
        assert (tmp_path / "m.db").stat().st_size < size / 4
    finally:
        store.close()


def test_pruned_texts_leave_the_postgres_text_index(store: Store, clock: FakeClock) -> None:
    if store.dialect != "postgresql":
        return  # SQLite's FTS5 follows through its triggers (tests/rules/test_search_index.py)
    from monitor.rules import tokenize
    from monitor.store import TextIndex
    store.tokenizer = tokenize  # as the daemon and the CLI wire it
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    old = store.save_article(fid, article("https://a.example/old", key="k1"), [], console_route)
    index = TextIndex(store)
    assert index.candidate_ids("'qatar' & 'gaza'") == [old.article_id]  # indexed at save
    clock.advance(100 * DAY)
    retention = RetentionConfig(article_text=90 * DAY, articles=None, notifications=None,
                                attempts=None)
    assert prune(store, retention)["article_text"] == 1
    assert index.candidate_ids("'qatar'") == []  # the pruned text's words are gone
    assert index.candidate_ids("'gaza'") == [old.article_id]  # the title's stay


def test_an_unknown_outcome_keeps_its_story_text_and_attempts(
        store: Store, clock: FakeClock) -> None:
    """A row sent without an answer waits for `monitor notifications retry`: not settled."""
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    store.save_article(fid, article("https://a.example/u", key="k1"), [hit()], console_route)
    outbox = Outbox(store)
    (note,) = outbox.claim("me", timedelta(minutes=5), 10)
    outbox.record_failure_many([note.id], "me", "read timeout", None, unknown=True)
    clock.advance(400 * DAY)
    plan = {p.step: p.rows for p in prune_plan(store, RetentionConfig())}
    assert plan == {"article_text": 0, "attempts": 0, "notifications": 0, "articles": 0}
    assert prune(store, RetentionConfig()) == plan
    assert outbox.counts()["unknown"] == 1
    assert store.count("articles") == 1 and store.count("hits") == 1
    assert _texts(store)["https://a.example/u"] != ""
    with store.read() as session:
        assert len(list(session.scalars(select(DeliveryAttemptRow.id)))) == 1
    assert outbox.retry([note.id]) == 1  # the operator's retry still finds its alert
    (again,) = outbox.claim("me", timedelta(minutes=5), 10)
    assert again.alert is not None and again.alert.title == "Gencatan senjata di Gaza"


def test_a_sent_alert_stays_while_a_copy_can_join_its_story(
        store: Store, clock: FakeClock) -> None:
    """Its row is what stops a later copy of the story alerting again (the unique key)."""
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    first = store.save_article(fid, article("https://a.example/1", key="k1"), [hit()],
                               console_route)
    _send_all(store)
    clock.advance(2 * DAY)
    retention = RetentionConfig(article_text=None, articles=None, notifications=DAY,
                                attempts=None)
    assert {p.step: p.rows for p in prune_plan(store, retention)}["notifications"] == 0
    assert prune(store, retention)["notifications"] == 0
    copy = store.save_article(fid, article("https://b.example/copy", key="k2", source="Other"),
                              [hit()], console_route, story_id=first.story_id)
    assert copy.story_id == first.story_id
    assert Outbox(store).counts()["pending"] == 0  # no second alert
    clock.advance(8 * DAY)  # the story window closed after the copy: now it may go
    assert prune(store, retention)["notifications"] == 1


def test_a_vacuum_locked_out_is_a_store_error(tmp_path: Path, clock: FakeClock,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the driver's exception: the daemon's job guard and the CLI say it in one line."""
    import sqlite3

    from monitor.store import engine
    from monitor.store.retention import vacuum
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", clock)
    other = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # a daemon's write transaction
        with pytest.raises(StoreError, match="database is locked"):
            vacuum(store)
        other.execute("ROLLBACK")
        vacuum(store)
    finally:
        other.close()
        store.close()


def test_a_malformed_sqlite_file_is_a_store_error(tmp_path: Path, clock: FakeClock) -> None:
    """A damaged page is the driver's DatabaseError, not an OperationalError: still one line."""
    import sqlite3

    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", clock)
    store.sync_feeds([feed()])
    fid = store.feed_health()[0].id
    store.save_article(fid, article(), [hit()], console_route)
    store.close()
    with sqlite3.connect(tmp_path / "m.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master "
                          "WHERE name = 'ix_articles_fetched_at'").fetchone()[0]
    db.close()
    with (tmp_path / "m.db").open("r+b") as file:
        file.seek((root - 1) * page)
        file.write(b"\xff" * 64)  # the index page's header
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}", clock)
    try:
        clock.advance(400 * DAY)
        with pytest.raises(StoreError, match="malformed"):
            prune_plan(store, RetentionConfig())
        with pytest.raises(StoreError, match="malformed"):
            prune(store, RetentionConfig())
    finally:
        store.close()

"""The pages over a seeded store: highlights, filters, inert hostile text, headers, CSRF."""

from __future__ import annotations

import os
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from monitor.store import Browse, Outbox
from monitor.store import browse as browse_module
from monitor.store.schema import ArticleRow, FeedRow, HitRow, NotificationRow
from monitor.web import hash_password
from monitor.web.pages import STORY_FULL_ARTICLES
from tests.store_support import article, console_route, feed, hit, open_store
from tests.web_support import HOSTILE_TITLE, client, config, csrf_of, seeded_store


def test_every_page_answers_with_the_security_headers(web) -> None:
    c, _ = web
    for path in ["/", "/stories/1", "/rules", "/search?q=Gaza", "/feeds", "/outbox",
                 "/login", "/feed.atom", "/api/v1/hits"]:
        response = c.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src" not in csp
        assert "'unsafe-inline'" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_stories_show_seed_stories_with_highlighted_terms(web) -> None:
    c, _ = web
    page = c.get("/").text
    assert "Diplomasi Tingkat Tinggi" in page and "AS dan Rusia" in page
    assert re.search(r"<mark[^>]*>Gaza</mark>", page)
    # A passage marks every word the rule matched in it, as the alert does, not only one.
    assert ('<p class="snippet" dir="auto">…<mark title="@peace-plan">proposal perdamaian'
            '</mark> baru untuk mengakhiri konflik di <mark title="@ukraine">Ukraina</mark>'
            ) in page  # dir="auto": an Arabic passage reads right to left
    assert "3 stories" in page
    assert "Weather in Jakarta" not in page  # no hit, no story in the list


def test_story_page_marks_evidence_at_its_offsets(web) -> None:
    c, store = web
    hit = next(h for h in store.hits() if h.rule_id == "ukraine-peace-plan")
    page = c.get(f"/stories/{hit.story_id}").text
    for e in hit.evidence:
        if e.field == "body":
            assert f">{e.matched}</mark>" in page
    assert "Notifications" in page and "console" in page


def test_filters_narrow_the_list(web) -> None:
    c, _ = web
    assert "1 story" in c.get("/?rule=ukraine-peace-plan").text
    assert "2 stories" in c.get("/?rule=gaza-ceasefire").text
    assert "1 story" in c.get("/?language=en").text
    assert "1 story" in c.get("/?language=EN-gb").text  # stored codes are normalised
    assert len(c.get("/api/v1/hits?language=EN").json()["items"]) == len(
        c.get("/api/v1/hits?language=en").json()["items"]) > 0
    assert "0 stories" in c.get("/?since=2099-01-01").text
    assert c.get("/?since=yesterday").status_code == 400


def test_keyset_pagination_walks_every_story_once(database_url: str, tmp_path: Path) -> None:
    store = seeded_store(database_url)
    with client(store, config(tmp_path, database_url, page_size=5)) as c:
        from monitor.store import Browse, StoryFilter
        browse = Browse(store)
        first = browse.stories(StoryFilter(), limit=2)
        second = browse.stories(StoryFilter(), before=first.next_cursor, limit=2)
        ids = [s.id for s in first.stories] + [s.id for s in second.stories]
        assert len(ids) == len(set(ids)) == 3 and second.next_cursor is None
        assert c.get(f"/?before={first.next_cursor}").status_code == 200
    store.close()


def test_search_offers_the_rule_to_save_and_explains_a_bad_query(web) -> None:
    c, _ = web
    page = c.get("/search", params={"q": "gaza AND ceasefire"}).text
    assert "Save as rule" in page and "query: gaza AND ceasefire" in page
    bad = c.get("/search", params={"q": "gaza AND (ceasefire"})
    assert bad.status_code == 200 and "Save as rule" not in bad.text
    assert "expected ')' but found the end of the query" in bad.text.replace("&#39;", "'")
    words = c.get("/search", params={"q": "gaza and ceasefire"}).text.replace("&#39;", "'")
    assert "'and' is searched as a word, not as the operator AND" in words
    assert "is searched as a word" not in page
    greek_o = c.get("/search", params={"q": "Dοha"}).text.replace("&#39;", "'")
    assert "'Dοha' mixes alphabets (Greek ο among Latin letters)" in greek_o


def test_hostile_article_is_rendered_as_text(web) -> None:
    c, store = web
    hostile = next(h for h in store.hits() if h.title == HOSTILE_TITLE)
    for path in ["/", f"/stories/{hostile.story_id}", "/search?q=Hamas",
                 "/rules/gaza-ceasefire/feed.atom"]:
        page = c.get(path).text
        assert "<script" not in page and "<iframe" not in page and "<svg onload" not in page
        assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
        assert 'href="javascript:' not in page
    page = c.get(f"/stories/{hostile.story_id}").text
    assert "&lt;script&gt;" in page and "{{7*7}}" in page


def test_feedback_needs_csrf_and_is_kept(web) -> None:
    c, store = web
    hit = store.hits()[0]
    assert c.post(f"/hits/{hit.id}/feedback", data={"verdict": "relevant"}).status_code == 403
    bad = c.post(f"/hits/{hit.id}/feedback", data={"verdict": "relevant", "csrf": "forged"})
    assert bad.status_code == 403
    token = csrf_of(c)
    cross = c.post(f"/hits/{hit.id}/feedback", data={"verdict": "relevant", "csrf": token},
                   headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    ok = c.post(f"/hits/{hit.id}/feedback",
                data={"verdict": "not_relevant", "csrf": token, "next": "/?rule=x"})
    assert ok.status_code == 303 and ok.headers["location"] == "/?rule=x"
    assert "Marked not relevant" in c.get(f"/stories/{hit.story_id}").text
    assert "1 story" in c.get("/?feedback=not_relevant").text
    page = c.get("/rules").text
    assert "0%" in page and "0 relevant, 1 not" in page
    evil = c.post(f"/hits/{hit.id}/feedback",
                  data={"verdict": "relevant", "csrf": token, "next": "//evil.example/"})
    assert evil.headers["location"] == f"/hits/{hit.id}"


def test_outbox_retry_puts_dead_notifications_back(web) -> None:
    c, store = web
    box = Outbox(store)
    note = box.list()[0]
    with store.write() as session:
        from sqlalchemy import update

        from monitor.store.schema import NotificationRow
        session.execute(update(NotificationRow).where(NotificationRow.id == note.id)
                        .values(status="dead", last_error="smtp said no"))
    page = c.get("/outbox?status=dead").text
    assert "smtp said no" in page and f"Retry #{note.id}" in page
    assert c.post("/outbox/retry", data={"id": str(note.id)}).status_code == 403
    done = c.post("/outbox/retry", data={"id": str(note.id), "csrf": csrf_of(c)})
    assert done.status_code == 303
    assert box.counts()["dead"] == 0


def test_rules_page_has_charts_and_expanded_entities(web) -> None:
    c, _ = web
    page = c.get("/rules").text
    assert page.count("<svg") == 4  # 30 and 90 days for each seed rule
    assert "@gaza" in page and "gencatan senjata" in page
    # A group lists its members, whose aliases are on their own rows.
    assert "<dt>@us-side</dt><dd>@us, @trump, @witkoff, @rubio, @driscoll</dd>" in page


def test_feeds_page_lists_failing_feeds_first(web) -> None:
    c, _ = web
    page = c.get("/feeds").text
    assert "Example News" in page and "never polled" in page


def test_the_feeds_page_shows_what_monitor_check_notes_in_monitor_yaml(
        sqlite_url: str, tmp_path: Path) -> None:
    from monitor.config import load_config

    path = tmp_path / "monitor.yaml"
    path.write_text(f"database_url: {sqlite_url}\npolling:\n  default_interval: 15\n",
                    encoding="utf-8")
    cfg = load_config(path, {})
    assert cfg.notes  # what monitor check prints (and exits 1 on)
    store = seeded_store(sqlite_url)
    with client(store, cfg) as c:
        page = c.get("/feeds").text
    store.close()
    note = re.search(r'<p class="problem" role="note">([^<]*)</p>', page)
    assert note is not None and note.group(1) == cfg.notes[0].replace("'", "&#39;")
    assert ":3: polling.default_interval: 15 is 15 seconds" in note.group(1)


def test_the_rules_page_shows_what_monitor_check_warns_of(sqlite_url: str,
                                                          tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("rules:\n  - id: talks\n    query: gaza and Dοha\n",
                                  encoding="utf-8")
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url).model_copy(update={"rules_dir": rules})
    with client(store, cfg) as c:
        page = c.get("/rules").text.replace("&#39;", "'")
    store.close()
    assert "rule talks: 'and' is searched as a word" in page
    assert "rule talks: 'Dοha' mixes alphabets (Greek ο among Latin letters)" in page


def test_the_rules_page_shows_a_page_of_rules_at_a_time(sqlite_url: str,
                                                         tmp_path: Path) -> None:
    """10,000 rules on one page: 13 MB of HTML in 5 s (two charts per rule, and the feed
    secret read from the database twice per rule)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("rules:\n" + "".join(
        f"  - id: r{n}\n    query: gaza AND w{n}\n" for n in range(7)), encoding="utf-8")
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url, page_size=5, users={"ana": hash_password("x")})
    cfg = cfg.model_copy(update={"rules_dir": rules})
    with client(store, cfg) as c:
        c.post("/login", data={"user": "ana", "password": "x", "csrf": csrf_of(c)})
        first, second = c.get("/rules").text, c.get("/rules?page=2").text
        assert first.count('<section class="rule"') == 5 and "Rules 1 to 5 of 7" in first
        assert 'href="/rules?page=2">Next rules' in first
        assert re.findall(r'id="rule-(r\d)"', second) == ["r5", "r6"]
        assert "Rules 6 to 7 of 7" in second and 'href="/rules?page=1">Previous' in second
        token = re.search(r'/rules/r6/feed.atom\?token=([^"]+)"', second)
        assert token is not None
        c.cookies.delete("nm_session")
        assert c.get(f"/rules/r6/feed.atom?token={token.group(1)}").status_code == 200
        c.post("/login", data={"user": "ana", "password": "x", "csrf": csrf_of(c)})
        one = c.get("/rules?rule=r6").text
        assert re.findall(r'id="rule-(r\d)"', one) == ["r6"] and "All rules" in one
        assert c.get("/rules?page=3").status_code == 404
        assert c.get("/rules?rule=nope").status_code == 404
    store.close()


def test_feed_urls_are_shown_with_their_secrets_masked(sqlite_url: str,
                                                       tmp_path: Path) -> None:
    from tests.store_support import feed, open_store
    store = open_store(sqlite_url)
    # the second has no name of its own: its name is its URL, masked as well
    paywall = "https://paywall.example/rss?api_key=s3cretkey&page=1"
    store.sync_feeds([feed("https://ana:hunter2@private.example/rss", "Private"),
                      feed(paywall, paywall)])
    with client(store, config(tmp_path, sqlite_url)) as c:
        page = c.get("/feeds").text
        api = c.get("/api/v1/feeds").json()["items"]
    store.close()
    assert "hunter2" not in page and "s3cretkey" not in page
    assert "https://ana:****@private.example/rss" in page
    assert "api_key=****&amp;page=1" in page
    assert {i["url"] for i in api} == {"https://ana:****@private.example/rss",
                                       "https://paywall.example/rss?api_key=****&page=1"}
    assert {i["name"] for i in api} == {"Private",
                                        "https://paywall.example/rss?api_key=****&page=1"}


def test_a_rule_file_removed_while_the_rules_are_checked_is_no_error(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An editor saving replaces the file: gone between the folder's listing and its stat.
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("rules:\n  - id: talks\n    query: gaza\n", encoding="utf-8")
    (rules / "saving.yaml").write_text("rules: []\n", encoding="utf-8")
    store = seeded_store(sqlite_url)
    cfg = config(tmp_path, sqlite_url).model_copy(update={"rules_dir": rules})
    real_stat = Path.stat
    seen: list[Path] = []

    def racing_stat(self: Path, **kwargs: object) -> object:
        if self.name == "saving.yaml":
            seen.append(self)
            if len(seen) > 1:  # there when first looked at, gone when looked at again
                raise FileNotFoundError(2, "No such file or directory", str(self))
        return real_stat(self, **kwargs)  # type: ignore[arg-type]

    with client(store, cfg) as c:
        monkeypatch.setattr(Path, "stat", racing_stat)
        page = c.get("/rules")
        monkeypatch.undo()
    store.close()
    assert page.status_code == 200 and "talks" in page.text


def test_story_page_says_when_an_articles_text_is_the_feeds(database_url: str,
                                                           tmp_path: Path) -> None:
    """An article whose page failed was matched on the feed's summary: the page says so, and
    why, so a reader does not take the short text for the article."""
    import dataclasses

    from tests.web_support import repo_matcher, seed_articles

    store = seeded_store(database_url)
    try:
        seed = seed_articles()[0]
        failed = dataclasses.replace(seed, url="https://down.example/1", entry_key="down",
                                     text_source="feed_summary", error="server_error",
                                     content_hash="down")
        feed_id = store.feed_health()[0].id
        saved = store.save_article(feed_id, failed, repo_matcher().match(failed.document()),
                                   lambda _hit: [])
        with client(store, config(tmp_path, database_url)) as c:
            page = c.get(f"/stories/{saved.story_id}").text
            assert "text from the feed: the page failed (server_error)" in page
            listed = c.get(f"/api/v1/articles/{saved.article_id}").json()
            assert (listed["text_source"], listed["page_error"]) == (
                "feed_summary", "server_error")
            plain = next(h for h in store.hits() if h.story_id != saved.story_id)
            assert "text from the feed" not in c.get(f"/stories/{plain.story_id}").text
    finally:
        store.close()


def test_a_story_carried_by_many_outlets_shows_some_whole_and_the_rest_a_line_each(
        database_url: str, tmp_path: Path) -> None:
    """A wire story in 2,000 outlets made a 12.8 MB story page that took 5.6 s to render
    (each article's hits were picked out of all the story's hits), and 2,000 feedback forms
    and outlets on the list of stories."""
    store = open_store(database_url)
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    copies = STORY_FULL_ARTICLES + 5
    for i in range(copies):
        wire = replace(article(url=f"https://outlet{i}.example/gaza", source=f"Outlet {i}",
                               key=f"wire{i}"), content_hash=f"wire{i}")
        store.save_article(feed_id, wire, [hit()], console_route)
    with store.write() as session:  # one story, as syndicated copies are grouped
        first = session.scalar(select(func.min(ArticleRow.story_id)))
        assert first is not None
        for table in (ArticleRow, HitRow, NotificationRow):
            session.execute(update(table).values(story_id=first))
    with client(store, config(tmp_path, database_url)) as c:
        page = c.get(f"/stories/{first}").text
        assert page.count('<article class="article"') == STORY_FULL_ARTICLES
        assert "5 more articles in this story" in page
        detail = Browse(store).story(first)
        assert detail is not None
        last_hit = max(detail.hits, key=lambda h: h.article_id)
        last = last_hit.article_id
        assert f'<li id="article-{last}">' in page
        # An alert's link to a hit among the copies opens the story with that article whole.
        moved = c.get(f"/hits/{last_hit.id}")
        assert moved.status_code == 303
        assert moved.headers["location"] == f"/stories/{first}?article={last}#hit-{last_hit.id}"
        opened = c.get(moved.headers["location"]).text
        assert f'id="hit-{last_hit.id}"' in opened
        assert opened.count('<article class="article"') == STORY_FULL_ARTICLES + 1
        # Its feedback comes back to the same view, that article still whole.
        assert f'name="next" value="/stories/{first}?article={last}"' in opened
        listing = c.get("/").text
        assert listing.count('class="feedback"') == 1  # one rule, one form
        assert listing.count('<li><a href="https://outlet') == 10
        assert "15 more outlets" in listing
    store.close()


def test_a_list_of_big_stories_reads_the_first_hits_and_outlets_of_each(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """50 stories of 2,000 copies each: the list page read and laid out 100,000 hits and
    outlets (3.7 s), and the API answered 54 MB. A list carries each story's first few, the
    first hit of each rule, and the totals; the API pages through the rest by story."""
    monkeypatch.setattr(browse_module, "SUMMARY_ITEMS", 4)
    store = open_store(database_url)
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    copies = 9
    for i in range(copies):  # the last copy alone matches a second rule too
        wire = replace(article(url=f"https://outlet{i}.example/gaza", source=f"Outlet {i}",
                               key=f"wire{i}"), content_hash=f"wire{i}")
        hits = [hit(), hit("late-rule")] if i == copies - 1 else [hit()]
        store.save_article(feed_id, wire, hits, console_route)
    with store.write() as session:
        first = session.scalar(select(func.min(ArticleRow.story_id)))
        assert first is not None
        for table in (ArticleRow, HitRow, NotificationRow):
            session.execute(update(table).values(story_id=first))
    with client(store, config(tmp_path, database_url)) as c:
        listing = c.get("/").text
        assert listing.count('class="feedback"') == 2  # the late rule's first hit is there
        assert ">late-rule</a>" in listing and "5 more outlets" in listing
        (story,) = c.get("/api/v1/stories").json()["items"]
        assert (story["hits_total"], story["outlets_total"]) == (copies + 1, copies)
        assert len(story["outlets"]) == 4 and len(story["hits"]) == 5  # 4, and late-rule's
        assert story["rules"] == ["gaza", "late-rule"]
        assert story["latest"] == max(h["matched_at"] for h in
                                      c.get(f"/api/v1/hits?story={first}&limit=500")
                                      .json()["items"])
        seen, url = [], f"/api/v1/hits?story={first}&limit=3"
        while url:
            page = c.get(url).json()
            seen += [h["id"] for h in page["items"]]
            url = page["next"]
        assert len(set(seen)) == copies + 1
        articles = c.get(f"/api/v1/articles?story={first}&limit=500").json()["items"]
        assert len(articles) == copies
        assert c.get("/api/v1/articles?story=0").json()["items"] == []
        assert c.get("/api/v1/hits?story=x").status_code == 400
    store.close()


def test_the_outlet_filter_offers_the_outlets_with_the_most_hits(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every outlet a Google News feed names was a menu entry: 5 MB of menu on each list page
    at 100,000 outlets. The menu offers the busiest; any outlet may still be filtered on."""
    monkeypatch.setattr(browse_module, "MAX_OUTLET_CHOICES", 2)
    store = open_store(sqlite_url)
    store.sync_feeds([feed()])
    feed_id = store.feed_health()[0].id
    for outlet, copies in (("Busy", 3), ("Middling", 2), ("Rare", 1)):
        for n in range(copies):
            story = replace(article(url=f"https://{outlet.lower()}.example/{n}", source=outlet,
                                    key=f"{outlet}{n}"), content_hash=f"{outlet}{n}")
            store.save_article(feed_id, story, [hit()], console_route)
    with client(store, config(tmp_path, sqlite_url)) as c:
        menu = re.search(r'<select name="outlet">(.*?)</select>', c.get("/").text, re.S)
        assert menu is not None
        assert re.findall(r'<option value="([^"]+)"', menu.group(1)) == ["Busy", "Middling"]
        rare = c.get("/?outlet=Rare").text
        assert '<option value="Rare" selected>' in rare and "rare.example/0" in rare
    store.close()


def test_the_feeds_page_shows_a_page_of_feeds_at_a_time_failing_first(
        sqlite_url: str, tmp_path: Path) -> None:
    """20,000 feeds made a 5 MB page. A page at a time, failing feeds first, with the
    count of each status over all of them."""
    store = open_store(sqlite_url)
    store.sync_feeds([feed(f"https://f{n}.example/rss") for n in range(7)])
    with store.write() as session:
        session.execute(update(FeedRow).where(FeedRow.url == "https://f6.example/rss")
                        .values(consecutive_failures=3, last_error_code="timeout",
                                last_attempt_at=func.now()))
    with client(store, config(tmp_path, sqlite_url, page_size=5)) as c:
        first, second = c.get("/feeds").text, c.get("/feeds?page=2").text
        rows = re.findall(r'<tr class="status-([a-z-]+)">', first)
        assert len(rows) == 5 and rows[0] == "failing", rows
        assert re.search(r'id="feed-count">7 feeds: 1 failing, 6 never polled \(these: 1 to 5\)',
                         first), first
        assert len(re.findall(r'<tr class="status-', second)) == 2
        assert 'href="/feeds?page=1">Previous feeds' in second
        assert c.get("/feeds?page=3").status_code == 404
        seen, url = [], "/api/v1/feeds?limit=3"  # the API pages like every list
        while url:
            page = c.get(url).json()
            assert len(page["items"]) <= 3
            seen += [f["url"] for f in page["items"]]
            url = page["next"]
        assert sorted(seen) == [f"https://f{n}.example/rss" for n in range(7)]
    store.close()


def test_the_outbox_and_its_api_page_through_every_notification(
        web, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox showed the newest 200 and the API ignored its documented ``before``: a dead
    notification behind 200 newer ones could not be seen or retried alone."""
    c, store = web
    from monitor.web import pages

    every = [n.id for n in Outbox(store).list()]
    assert len(every) >= 3
    seen, url = [], "/api/v1/notifications?limit=1"
    while url:
        page = c.get(url).json()
        assert len(page["items"]) <= 1
        seen += [n["id"] for n in page["items"]]
        url = page["next"]
    assert seen == every  # newest first, each once
    monkeypatch.setattr(pages, "OUTBOX_PAGE", 1)
    shown, url = [], "/outbox?status=pending"
    while url:
        html = c.get(url).text
        shown += [int(n) for n in re.findall(r'<tr class="status-pending"><td>(\d+)</td>', html)]
        older = re.search(r'<a rel="next" href="([^"]+)">Older notifications', html)
        url = older.group(1).replace("&amp;", "&") if older else ""
    pending = [n.id for n in Outbox(store).list("pending")]
    assert shown == pending and len(pending) >= 2


def test_the_rules_api_pages_by_rule_id(web) -> None:
    """10,000 rules were one 1.6 MB answer: the API gives a page at a time, by rule id."""
    c, _ = web
    first = c.get("/api/v1/rules?limit=1").json()
    assert [r["id"] for r in first["items"]] == ["gaza-ceasefire"]
    assert first["next_after"] == "gaza-ceasefire"
    second = c.get(first["next"]).json()
    assert [r["id"] for r in second["items"]] == ["ukraine-peace-plan"]
    assert second["next"] is None and second["next_after"] is None
    one = c.get("/api/v1/rules?rule=ukraine-peace-plan").json()["items"]
    assert [r["id"] for r in one] == ["ukraine-peace-plan"] and one[0]["hits"] >= 1
    assert (one[0]["stem"], one[0]["proclitics"]) == (True, False)  # the rule's options
    assert c.get("/api/v1/rules?rule=no-such-rule").status_code == 404


def test_the_rules_page_names_a_rule_word_no_article_has_beside_the_common_one(
        database_url: str, tmp_path: Path) -> None:
    from monitor.config import Config
    from monitor.rules import tokenize
    from monitor.store import TextIndex

    store = seeded_store(database_url)
    feed_id = store.feed_health()[0].id
    for i in range(3):
        item = replace(article(url=f"https://news.example/truce/{i}", key=f"truce{i}"),
                       text="Qatar presses for a ceasefire.", content_hash=f"truce{i}")
        store.save_article(feed_id, item, [], console_route)
    TextIndex(store).index_pending()
    TextIndex(store).catch_up(tokenize)
    rules = tmp_path / "rules"
    rules.mkdir()
    rule_file = rules / "r.yaml"
    rule_file.write_text("rules:\n  - id: truce\n    query: Qatar AND ceasfire\n",
                         encoding="utf-8")
    cfg = Config(base_dir=tmp_path, database_url=database_url, rules_dir=rules)
    with client(store, cfg) as c:
        page = c.get("/rules").text
        # (the seeds' English article has the word too)
        assert ("“ceasfire” is in no stored article, “ceasefire” is in 4: a typo?"
                in page)
        rule_file.write_text("rules:\n  - id: truce\n    query: Qatar AND ceasefire\n",
                             encoding="utf-8")
        os.utime(rule_file, (time.time() + 5, time.time() + 5))  # a new stamp, surely
        assert "a typo?" not in c.get("/rules").text  # counted again for the new rules
    store.close()

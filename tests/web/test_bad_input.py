"""Whatever a browser or script sends, the answer is a clear 4xx, never a 500; a database
that cannot answer is a 503; the API's next link walks every page whatever the filters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import update

from monitor.store import Outbox, Store
from monitor.store.schema import NotificationRow
from monitor.web.app import MAX_BODY_BYTES
from tests.store_support import FakeClock, article, console_route, hit
from tests.web_support import client, config, csrf_of, seeded_store

ODD_OUTLET = "AT&T + Co #1 50%"


@pytest.mark.parametrize(("path", "status"), [
    ("/?before=99999999999999999999999", 400),  # past any id: not the database's overflow
    ("/api/v1/hits?before=99999999999999999999999", 400),
    ("/api/v1/stories?before=-99999999999999999999999", 400),
    ("/api/v1/articles?before=99999999999999999999999", 400),
    ("/stories/99999999999999999999999", 404),
    ("/hits/99999999999999999999999", 404),
    ("/api/v1/hits/99999999999999999999999", 404),
    ("/api/v1/articles/99999999999999999999999", 404),
    ("/stories/" + "9" * 5000, 404),  # int() refuses over 4,300 digits
    ("/api/v1/hits/" + "9" * 5000, 404),
    ("/?until=9999-12-31", 200),  # the last day there is: no upper bound
    ("/api/v1/hits?until=9999-12-31", 200),
    ("/?outlet=%00", 400),  # PostgreSQL refuses NUL in any text
    ("/?rule=a%00b", 400),
    ("/api/v1/hits?language=%00", 400),
    ("/rules/a%00b/feed.atom", 400),
    ("/search?q=gaza&language=%00", 400),
    ("/?outlet=%ED%A0%80", 200),  # a lone surrogate, decoded as U+FFFD
    ("/api/v1/hits?limit=-5", 200),
])
def test_odd_query_input_is_a_client_error(web, path: str, status: int) -> None:
    c, _ = web
    response = c.get(path)
    assert response.status_code == status, response.text[:300]
    if path.startswith("/api/") and status != 200:
        assert "error" in response.json()


def test_until_the_last_day_keeps_every_story(web) -> None:
    c, _ = web
    assert "3 stories" in c.get("/?since=0001-01-01&until=9999-12-31").text


def test_search_explains_an_unknown_entity_and_a_query_nested_too_deep(web) -> None:
    c, _ = web
    unknown = c.get("/search", params={"q": "gaza AND @no-such-entity"})
    assert unknown.status_code == 200
    assert re.search(r'role="alert">unknown entity @no-such-entity<', unknown.text)
    assert "Save as rule" not in unknown.text
    for deep in ["(" * 400 + "gaza" + ")" * 400,
                 " AND ".join(f"(gaza OR w{i}" for i in range(200)) + ")" * 200]:
        page = c.get("/search", params={"q": deep})
        assert page.status_code == 200 and "nested more than 100" in page.text


def test_api_next_link_walks_every_page_whatever_the_filter_value(database_url: str,
                                                                   tmp_path: Path) -> None:
    store = seeded_store(database_url)
    feed_id = store.feed_health()[0].id
    for i in range(5):
        odd = replace(article(url=f"https://odd.example/{i}", source=ODD_OUTLET, key=f"odd{i}"),
                      title=f"Gaza {i} walrus{i} quokka{i}", text=f"body {i} yak{i} emu{i}",
                      content_hash=f"odd{i}")
        store.save_article(feed_id, odd, [hit()], console_route)
    with client(store, config(tmp_path, database_url)) as c:
        for kind in ("hits", "stories"):
            seen: list[int] = []
            body = c.get(f"/api/v1/{kind}", params={"outlet": ODD_OUTLET, "limit": 2}).json()
            while True:
                seen += [item["id"] for item in body["items"]]
                if body["next"] is None:
                    break
                body = c.get(body["next"]).json()
            assert len(seen) == len(set(seen)) == 5, kind
    store.close()


def test_retry_refuses_an_id_that_is_no_number(web) -> None:
    c, store = web
    box = Outbox(store)
    with store.write() as session:
        session.execute(update(NotificationRow).values(status="dead"))
    dead = box.counts()["dead"]
    assert dead >= 2
    token = csrf_of(c)
    for bad in ["²", "abc", "99999999999999999999999", "9" * 5000]:
        answer = c.post("/outbox/retry", data={"id": bad, "csrf": token})
        assert answer.status_code == 400, bad
    assert box.counts()["dead"] == dead  # a bad id never means "retry them all"


def test_a_database_that_cannot_answer_is_a_503(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    store = Store.open(url, Path.cwd(), FakeClock())
    with client(store, config(tmp_path, url)) as c:
        page = c.get("/")
        assert page.status_code == 503 and "database is unavailable" in page.text
        api = c.get("/api/v1/hits")
        assert api.status_code == 503 and "database is unavailable" in api.json()["error"]
        assert c.get("/feed.atom").status_code == 503
    store.close()


def test_api_feedback_takes_only_true_false_or_null(web) -> None:
    c, store = web
    hit_id = store.hits()[0].id
    for body in [{}, {"other": True}, {"relevant": 0}, {"relevant": 1}, {"relevant": "true"},
                 ["relevant"]]:
        answer = c.post(f"/api/v1/hits/{hit_id}/feedback", json=body)
        assert answer.status_code == 400, body
        assert answer.json()["error"] == 'send {"relevant": true | false | null}'
    assert c.get(f"/api/v1/hits/{hit_id}").json()["relevant"] is None
    ok = c.post(f"/api/v1/hits/{hit_id}/feedback", json={"relevant": False})
    assert ok.status_code == 200 and ok.json()["relevant"] is False


def test_a_body_over_the_limit_is_refused_before_it_is_read(web) -> None:
    """Starlette keeps up to 1,000 form fields of 1 MiB each in memory, and a form is read
    before its CSRF check: one 810 MB post from anyone took the server to 895 MB."""
    c, store = web
    hit_id = store.hits()[0].id
    token = csrf_of(c)
    big = {"id": "1" * MAX_BODY_BYTES, "csrf": token}
    assert c.post("/outbox/retry", data=big).status_code == 413
    answer = c.post(f"/api/v1/hits/{hit_id}/feedback",
                    content=b'{"relevant": true, "pad": "' + b" " * MAX_BODY_BYTES + b'"}',
                    headers={"content-type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"] == "the request body is over 64 KiB"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield f"csrf={token}&user=ana&password=".encode()
        for _ in range(100):
            yield b"x" * 4096

    chunked = c.post("/login", content=chunks(),
                     headers={"content-type": "application/x-www-form-urlencoded"})
    assert chunked.status_code == 413 and chunked.headers["x-frame-options"] == "DENY"
    # Within the limit, as it was: a form of 60 KiB is read and answered.
    near = c.post("/outbox/retry", data={"id": "1" * 60_000, "csrf": token})
    assert near.status_code == 400 and "a notification number" in near.text
    ok = c.post(f"/api/v1/hits/{hit_id}/feedback", json={"relevant": True})
    assert ok.status_code == 200 and ok.json()["relevant"] is True

"""The search box given a query pasted with no-break or other Unicode spaces: FTS5 would read
``gencatan\\u00a0AND\\u00a0gaza`` as the one phrase "gencatan and gaza"; the search reads it
as typed with spaces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.web_support import client, config, seeded_store


@pytest.fixture
def sqlite_web(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    store = seeded_store(sqlite_url)
    with client(store, config(tmp_path, sqlite_url)) as c:
        yield c
    store.close()


def _count(page: str) -> str:
    found = re.search(r'id="search-count">(\d+ articles?) match', page)
    return found.group(1) if found else ""


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u3000", "\u2009"])
def test_a_query_pasted_with_unicode_spaces_finds_what_it_finds_with_spaces(
        sqlite_web: TestClient, space: str) -> None:
    c = sqlite_web
    plain = _count(c.get("/search", params={"q": "gencatan AND gaza"}).text)
    assert plain not in ("", "0 articles")
    page = c.get("/search", params={"q": f"gencatan{space}AND{space}gaza"}).text
    assert _count(page) == plain
    quoted = c.get("/search", params={"q": f'"gencatan{space}senjata"'}).text
    assert _count(quoted) == _count(c.get("/search", params={"q": '"gencatan senjata"'}).text)


def test_the_search_notes_a_unicode_space(sqlite_web: TestClient) -> None:
    page = sqlite_web.get("/search", params={"q": "gencatan\u00a0AND\u00a0gaza"}).text
    assert ("query has a no-break space (U+00A0) at column 9 and 1 more Unicode space: "
            "read as spaces") in page

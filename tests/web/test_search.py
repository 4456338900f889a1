"""The search page: the language box read as a rule file's ``languages:``, and a query pasted
with the invisible characters that stored article text never keeps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.web_support import client, config, seeded_store


@pytest.fixture
def sqlite_web(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The web view over a seeded SQLite store: reading the language box involves no
    database (the soft-hyphen test runs on both)."""
    store = seeded_store(sqlite_url)
    with client(store, config(tmp_path, sqlite_url)) as c:
        yield c
    store.close()


def _count(page: str) -> str:
    found = re.search(r'id="search-count">(\d+ articles?) match', page)
    return found.group(1) if found else ""


@pytest.mark.parametrize("language", ["id", "ID", "id-ID", "ind", "in"])
def test_the_language_is_read_as_a_rule_files_languages(sqlite_web: TestClient,
                                                       language: str) -> None:
    c = sqlite_web
    page = c.get("/search", params={"q": "gaza", "language": language}).text
    assert _count(page) == "2 articles"  # the two Indonesian seed stories, not the English one
    assert "languages:\n  - id\n" in page or "languages: [id]" in page


@pytest.mark.parametrize("language", ["zz", "english", "<b>"])
def test_a_language_no_rule_file_takes_is_explained_not_searched(sqlite_web: TestClient,
                                                                language: str) -> None:
    c = sqlite_web
    page = c.get("/search", params={"q": "gaza", "language": language})
    assert page.status_code == 200
    alert = re.search(r'role="alert">([^<]*)<', page.text)
    assert alert is not None and "language code" in alert.group(1)
    assert "Save as rule" not in page.text and "<b>" not in page.text


def test_a_query_pasted_with_a_soft_hyphen_finds_the_word(web) -> None:
    c, _ = web
    plain = _count(c.get("/search", params={"q": "gencatan"}).text)
    assert plain != "0 articles"
    page = c.get("/search", params={"q": "gen\u00adcatan"}).text
    assert _count(page) == plain
    assert "\u00ad" not in page  # nor in the rule to save

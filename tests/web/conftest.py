"""The web view over a store seeded with the two seed articles, shared by the page tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.store import Store
from tests.web_support import client, config, seeded_store


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    """A client of the web view (no authentication) and its seeded store."""
    store = seeded_store(database_url)
    with client(store, config(tmp_path, database_url)) as c:
        yield c, store
    store.close()

"""Fixtures of the store tests: a fake clock, and an empty store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.store import Store
from tests.store_support import FakeClock, open_store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> Iterator[Store]:
    s = open_store(database_url, clock)
    yield s
    s.close()

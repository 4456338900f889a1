"""Fixtures shared by the whole suite.

Third-party corpora are used by path from ``../shared`` beside the repository, never copied:
the ``shared_dir`` fixture skips a test with a clear reason when that folder is absent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store_support import reset_postgres

pytest_plugins = ["tests.notify_support"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"

# Every Python process the suite starts refuses traffic outside loopback at start-up
# (tests/sandbox/sitecustomize.py); this process does it in the _loopback_only fixture.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO_ROOT / "tests" / "sandbox"), os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (corpora, seeds, docs); skips the test when it is not beside the repo."""
    if not (SHARED_DIR / "corpora").is_dir():
        pytest.skip(f"../shared is not beside the repository (looked in {SHARED_DIR})")
    return SHARED_DIR


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def _postgres_url() -> str | None:
    import os

    url = os.environ.get("MONITOR_TEST_POSTGRES_URL")
    if not url and os.environ.get("MONITOR_REQUIRE_POSTGRES"):
        pytest.fail("MONITOR_REQUIRE_POSTGRES is set but MONITOR_TEST_POSTGRES_URL is not")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: an SQLite file, and (when available) a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    url = _postgres_url()
    if not url:
        pytest.skip("no PostgreSQL: set MONITOR_TEST_POSTGRES_URL (CI starts one)")
    reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Network traffic in tests goes only to loopback: anything else is refused as an
    offline machine would refuse it, and the test that tried fails (tests/fetch_support.py)."""
    from tests.fetch_support import loopback_only

    with loopback_only() as refused:
        yield
    if refused:
        pytest.fail("the test reached outside loopback: " + "; ".join(sorted(set(refused))[:5]))


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Give back the root logger as it was: a CLI run in the test process replaces its
    handlers with one on the test's stderr, which is closed once the test ends, and a thread
    still running (aiosmtpd's loop) then logged into it ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)

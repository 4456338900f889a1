"""Process set-up done by the composition root."""

from __future__ import annotations

import dataclasses
import logging
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon_support import REPO

# Eight threads each allocate once, so glibc would give each its own arena; malloc_stats()
# prints one "Arena n:" block per arena to stderr.
_PROBE = """
import ctypes, sys, threading
from monitor.daemon.service import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas(2)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
barrier = threading.Barrier(8)
def allocate():
    libc.malloc(64)
    barrier.wait()  # all alive at once, so none inherits a finished thread's arena
threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc.malloc_stats()
"""


def _arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_the_daemon_caps_malloc_arenas() -> None:
    assert _arenas("default") > 2
    assert _arenas("limit") == 2


def test_a_rule_reload_warns_of_a_word_no_article_has_beside_the_one_they_use(
        database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A typo in a query (``ceasfire``) loads and matches nothing; the daemon's reload says
    so from the stored articles' words, as ``monitor backtest`` does."""
    from monitor.config import Config
    from monitor.config.settings import FeedConfig
    from monitor.daemon import build_service
    from monitor.rules import tokenize
    from monitor.store import TextIndex
    from tests.store_support import article, console_route

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("rules:\n  - id: truce\n    query: Qatar AND ceasfire\n",
                                  encoding="utf-8")
    service = build_service(Config(base_dir=tmp_path, database_url=database_url,
                                   rules_dir=rules,
                                   feeds=[FeedConfig(url="https://news.example/feed.xml")]))
    try:
        feed_id = service.store.feed_health()[0].id
        for i in range(3):
            item = dataclasses.replace(article(url=f"https://news.example/{i}", key=f"k{i}"),
                                       text="Qatar presses for a ceasefire.",
                                       content_hash=f"h{i}", language="en")
            service.store.save_article(feed_id, item, [], console_route)
        TextIndex(service.store).index_pending()  # SQLite: as each cycle ends
        TextIndex(service.store).catch_up(tokenize)  # PostgreSQL: the lexemes
        with caplog.at_level(logging.WARNING, logger="monitor.daemon.service"):
            service.rules_reloaded([])
    finally:
        service.store.close()
    assert ("rule truce: 'ceasfire' is in no stored article, 'ceasefire' is in 3: a typo?"
            in caplog.messages)

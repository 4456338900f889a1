"""Two real daemons on one PostgreSQL, polling outlets that syndicate the same articles at
once: every copy joins its original's story, and each story alerts once (issue 14: with the
story index per process, 0 or 1 of 4 copies joined and 8 to 12 extra alerts went out)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.store import Store
from monitor.store.schema import ArticleRow
from tests.daemon_support import DaemonProcess, run_cli, serve_directory
from tests.e2e.test_delivery import WORDS, config_for, titles
from tests.notify_support import Receiver

STORIES = 5
OUTLETS = 4


def write_outlet(site: Path, outlet: int) -> None:
    """One outlet's feed: its own copy of each story (its header and footer, a word changed)."""
    site.mkdir(parents=True)
    items = []
    for n in range(STORIES):
        rng = random.Random(f"story-{n}")
        words = [rng.choice(WORDS) for _ in range(240)]
        edit = random.Random(f"outlet-{outlet}-{n}")
        words[edit.randrange(len(words))] = edit.choice(WORDS)
        paragraphs = [" ".join(words[i:i + 60]) for i in range(0, 240, 60)]
        title = f"Ceasefire talks, story {n}"
        body = "".join(f"<p>{p} ceasefire.</p>" for p in paragraphs)
        (site / f"s{n}.html").write_text(
            f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>Outlet {outlet} reports from the capital.</p>{body}"
            f"<p>Read more from outlet {outlet}.</p></article></body></html>")
        items.append(f"<item><title>{title}</title><link>s{n}.html</link>"
                     f"<guid>o{outlet}-{n}</guid><description>{title}</description></item>")
    (site / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {outlet}</title>'
        f"<link>http://x/</link><description>d</description>{''.join(items)}</channel></rss>")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_daemons_put_syndicated_copies_into_one_story_each(
        tmp_path: Path, receiver: Receiver, database_url: str) -> None:
    sites = [tmp_path / f"outlet{o}" for o in range(OUTLETS)]
    for outlet, site in enumerate(sites):
        write_outlet(site, outlet)
    with (serve_directory(sites[0]) as a, serve_directory(sites[1]) as b,
          serve_directory(sites[2]) as c, serve_directory(sites[3]) as d):
        config = config_for(
            tmp_path, [{"url": f"{base}/feed.xml", "name": f"Outlet {o}"}
                       for o, base in enumerate((a, b, c, d))],
            f"json://127.0.0.1:{receiver.port}/hook", database_url=database_url,
            http={"allow_private_networks": ["127.0.0.1/32"], "respect_robots_txt": False,
                  "workers": 1})
        assert run_cli(config, "db", "upgrade").returncode == 0
        # One feed at a time each: the two daemons poll different outlets at the same moment.
        daemons = [DaemonProcess(config, "--once") for _ in range(2)]
        for daemon in daemons:
            assert daemon.proc.wait(timeout=180) == 0, "".join(daemon.stderr[-30:])

    store = Store.open(database_url, tmp_path)
    try:
        with store.read() as session:
            rows = list(session.execute(select(ArticleRow.canonical_url, ArticleRow.story_id)))
    finally:
        store.close()
    assert len(rows) == STORIES * OUTLETS
    stories = {n: {story for url, story in rows if url.endswith(f"/s{n}.html")}
               for n in range(STORIES)}
    assert all(len(found) == 1 for found in stories.values()), stories
    alerts = [t for t in titles(receiver) if "Ceasefire talks" in t]
    assert len(alerts) == STORIES, alerts

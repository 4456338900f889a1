"""End to end delivery through the real daemon: crashes, syndicated stories, secret hygiene."""

from __future__ import annotations

import random
import shutil
import signal
from pathlib import Path

import pytest
import yaml

from tests.daemon_support import REPO, DaemonProcess, invoke_cli, run_cli, serve_directory, wait_for
from tests.notify_support import Receiver

ITEMS = 10


WORDS = (
    "harbour", "convoy", "ministry", "aid", "border", "fuel", "envoy", "summit", "hostage",
    "truce", "corridor", "bakery", "school", "clinic", "market", "drone", "tunnel", "ferry",
    "cabinet", "budget", "rainfall",
)


def write_site(site: Path, count: int) -> None:
    """``count`` distinct articles (different stories: distinct enough not to be grouped)."""
    site.mkdir(parents=True, exist_ok=True)
    items = []
    for n in range(count):
        title = f"Ceasefire talks, day {n}"
        rng = random.Random(n)
        body = "".join(
            f"<p>Day {n}: {' '.join(rng.choice(WORDS) for _ in range(60))} ceasefire.</p>"
            for _ in range(4))
        (site / f"a{n}.html").write_text(
            f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{body}</article></body></html>")
        items.append(f"<item><title>{title}</title><link>a{n}.html</link><guid>g{n}</guid>"
                     f"<description>{title}</description></item>")
    (site / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>http://x/</link><description>d</description>{''.join(items)}</channel></rss>")


def config_for(tmp_path: Path, feeds: list[dict[str, object]], hook: str,
               **extra: object) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "r.yaml").write_text(
        "rules:\n  - id: talks\n    name: Ceasefire talks\n    query: ceasefire\n")
    data: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'monitor.db'}",
        "rules_dir": str(rules),
        "feeds": feeds,
        "channels": {"hook": {"urls": [hook]}},
        "http": {"allow_private_networks": ["127.0.0.1/32"], "respect_robots_txt": False},
        "polling": {"tick": "1s", "default_interval": "1h"},
        "delivery": {"console": False, "default_channels": ["hook"], "lease": "2s",
                     "send_timeout": "1s",
                     "backoff_base": "1s"},
        "extract": {"workers": 1},
        "web": {"enabled": False},
    }
    data.update(extra)
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path


def titles(receiver: Receiver) -> list[str]:
    out = []
    for hit in receiver.hits_for("/hook"):
        payload = hit.json()  # the structured webhook event (README, "Alerts")
        assert payload["schema"] == "newsmonitor.alert/1"
        alert = payload["alert"]
        others = alert["story"]["other_outlets"]
        out.append(f"[{alert['rule']['name']}] {alert['title']}\n{alert['outlet']}\n"
                   + (f"also reported by {', '.join(others)}" if others else ""))
    return out


@pytest.mark.slow
def test_G2_G3_sigkill_during_dispatch_loses_nothing(tmp_path: Path, receiver: Receiver) -> None:
    """G2/G3: kill -9 at random points of dispatch, restart; every alert arrives, doubles only
    in the window between a send and its record (at most one per kill: sends are sequential)."""
    site = tmp_path / "site"
    write_site(site, ITEMS)
    receiver.delay = 0.25
    rng = random.Random(20261122)
    kills = 0
    with serve_directory(site) as base:
        config = config_for(tmp_path, [{"url": f"{base}/feed.xml", "name": "Wire"}],
                            f"json://127.0.0.1:{receiver.port}/hook")
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        for _ in range(4):
            before = len(receiver.hits_for("/hook"))
            if len({t.split(",")[1] for t in titles(receiver)}) >= ITEMS:
                break
            daemon = DaemonProcess(config)
            step = rng.randint(1, 3)
            target = before + step
            try:
                wait_for(lambda: len(receiver.hits_for("/hook")) >= target,  # noqa: B023
                         60, "some alerts to arrive before the kill")
            finally:
                daemon.proc.send_signal(signal.SIGKILL)
                daemon.proc.wait(timeout=10)
            kills += 1
        final = DaemonProcess(config)
        try:
            wait_for(lambda: all(any(f"day {n}\n" in t or f"day {n}" in t.split("\n")[0]
                                     for t in titles(receiver)) for n in range(ITEMS)),
                     90, "every alert after the last restart")
            # A row sent just before a kill arrived but is still pending: its lease runs out
            # and the last daemon sends it again (the duplicate the window allows).
            wait_for(lambda: "no notifications" in invoke_cli(
                config, "notifications", "--status", "pending").stdout,
                     90, "no row left pending")
        finally:
            code, _ = final.terminate()
        assert code == 0
    received = titles(receiver)
    per_item = [sum(t.split("\n")[0].endswith(f"day {n}") for t in received)
                for n in range(ITEMS)]
    assert all(count >= 1 for count in per_item), per_item  # nothing lost
    assert sum(per_item) - ITEMS <= kills, (per_item, kills)  # doubles only in the window
    result = run_cli(config, "notifications", "--status", "pending")
    assert "no notifications" in result.stdout


@pytest.mark.slow
def test_G4_sigterm_mid_dispatch_exits_in_the_grace_and_leaves_no_row_sending(
        tmp_path: Path, receiver: Receiver) -> None:
    """G4: SIGTERM while alerts are being sent: the daemon stops claiming, lets the send in
    flight finish, exits well within the 30 s a service manager grants, and leaves no row
    leased; the next start sends the rest, each alert once."""
    site = tmp_path / "site"
    write_site(site, ITEMS)
    receiver.delay = 0.3  # under the 1 s send timeout: a send in flight can finish
    with serve_directory(site) as base:
        config = config_for(tmp_path, [{"url": f"{base}/feed.xml", "name": "Wire"}],
                            f"json://127.0.0.1:{receiver.port}/hook")
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        daemon = DaemonProcess(config)
        try:
            wait_for(lambda: len(receiver.hits_for("/hook")) >= 1, 60, "the first alert")
        finally:
            code, seconds = daemon.terminate(timeout=30)
        assert code == 0 and seconds < 30
        sent_before = len(receiver.hits_for("/hook"))
        assert "no notifications" in run_cli(
            config, "notifications", "--status", "sending").stdout
        rows = run_cli(config, "notifications", "--json").stdout.splitlines()
        assert len(rows) == ITEMS
        assert all('"status": "sent"' in r or '"status": "pending"' in r for r in rows), rows
        assert sum('"status": "sent"' in r for r in rows) == sent_before
        again = DaemonProcess(config)
        try:
            wait_for(lambda: len(receiver.hits_for("/hook")) >= ITEMS, 60, "the other alerts")
            wait_for(lambda: "no notifications" in invoke_cli(
                config, "notifications", "--status", "pending").stdout, 60, "no row pending")
        finally:
            code, _ = again.terminate()
        assert code == 0
    keys = [h.headers.get("Idempotency-Key") for h in receiver.hits_for("/hook")]
    assert len(keys) == ITEMS and len(set(keys)) == ITEMS, keys


def paywalled(page: str) -> str:
    """The page as an outlet behind a paywall shows it: the first paragraphs, then an offer."""
    start = page.index("<p><strong>Baca Juga")  # the first five paragraphs stay
    return (page[:start] + '<div class="paywall"><p>Artikel ini khusus untuk pelanggan. '
            "Berlangganan sekarang untuk membaca selengkapnya.</p></div>"
            + page[page.index("</article>"):])


SEED_HEADLINE = ("Diplomasi Tingkat Tinggi Pasca-Konflik: AS, Israel, dan Qatar Gelar Pertemuan "
                 "Tertutup di New York demi Menyelamatkan Kesepakatan Gaza")
# What a Google News entry in the current link format leaves: its page is a script that only
# Google's servers can resolve, its description the headline and the outlet's name.
AGGREGATOR_STUB = ("<html><head><title>Google News</title></head><body><script>"
                   "window.location.replace(atob('aHR0cHM6Ly9leGFtcGxlLmludmFsaWQv'))"
                   "</script></body></html>")


@pytest.mark.slow
@pytest.mark.parametrize("copy_kind", ["whole", "cut_by_a_paywall", "aggregator_headline"])
def test_a_story_from_two_outlets_alerts_once_naming_both(tmp_path: Path, receiver: Receiver,
                                                          copy_kind: str) -> None:
    """The Gaza seed article and, on a second feed, a syndicated copy, the copy cut short by
    that outlet's paywall, or an aggregator's entry with only the headline (its link a page
    that gives no text): one alert per rule and channel, which names the other outlet."""
    original = tmp_path / "original"
    shutil.copytree(REPO / "seeds", original)
    copy = tmp_path / "copy"
    copy.mkdir()
    page = (original / "pages" / "gaza-trilateral-new-york.html").read_text()
    page = (page.replace('content="usmnews"', 'content="Kabar Wire"')
            .replace("Redaksi usmnews", "Tim Kabar Wire")
            .replace("Hak cipta dilindungi undang-undang.", "Dilarang mengutip tanpa izin."))
    title, description = "AS, Israel dan Qatar bertemu di New York", ""
    if copy_kind == "cut_by_a_paywall":
        page = paywalled(page)
    elif copy_kind == "aggregator_headline":
        page = AGGREGATOR_STUB
        title = f"{SEED_HEADLINE} - usmnews"
        description = (f"<description>&lt;a href=\"gaza-copy.html\"&gt;{SEED_HEADLINE}&lt;/a&gt;"
                       "&amp;nbsp;&amp;nbsp;&lt;font color=\"#6f6f6f\"&gt;usmnews&lt;/font&gt;"
                       "</description><pubDate>Mon, 08 Dec 2025 02:05:00 +0000</pubDate>")
    (copy / "gaza-copy.html").write_text(page)
    (copy / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Kabar Wire</title>'
        f"<link>http://x/</link><description>d</description><item><title>{title}</title>"
        f"<link>gaza-copy.html</link>{description}<guid>kw-1</guid>"
        "</item></channel></rss>")
    with serve_directory(original) as one, serve_directory(copy) as two:
        config = config_for(
            tmp_path,
            [{"url": f"{one}/feed.xml", "name": "Seed articles", "language": "id"},
             {"url": f"{two}/feed.xml", "name": "Kabar Wire", "language": "id"}],
            f"json://127.0.0.1:{receiver.port}/hook", rules_dir=str(REPO / "rules"))
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        result = run_cli(config, "run", "--once")
        assert result.returncode == 0, result.stderr
    gaza = [t for t in titles(receiver) if "Qatar" in t and "Gaza" in t]
    assert len(gaza) == 1, titles(receiver)
    assert "Kabar Wire" in gaza[0] or "usmnews" in gaza[0]
    assert "also reported by" in gaza[0].lower()
    hits = run_cli(config, "hits", "--json").stdout.splitlines()
    assert sum('"gaza-ceasefire"' in h for h in hits) == 2  # both copies stored as hits


@pytest.mark.slow
def test_sec_F8_no_secret_in_debug_logs_or_the_database(tmp_path: Path,
                                                        receiver: Receiver) -> None:
    site = tmp_path / "site"
    write_site(site, 1)
    secret = "pa55w0rd-Zq9xK2"
    with serve_directory(site) as base:
        config = config_for(tmp_path, [{"url": f"{base}/feed.xml", "name": "Wire"}],
                            f"json://user:{secret}@127.0.0.1:{receiver.port}/status/500",
                            log_level="DEBUG")
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        result = run_cli(config, "--verbose", "run", "--once")
        assert result.returncode == 0, result.stderr
        listing = run_cli(config, "notifications", "--json")
    assert receiver.hits_for("/status/500")  # the failure happened
    assert secret not in result.stderr + result.stdout
    assert secret not in listing.stdout and '"attempts": 1' in listing.stdout
    assert secret.encode() not in (tmp_path / "monitor.db").read_bytes()


SLOW_RECEIVERS = {
    # 12 alerts at 0.6 s each: one dispatcher's batch outlasts the 5 s lease (each send has
    # 2 s, room for a loaded CI machine: a send past it would be "outcome unknown").
    "batch_slower_than_the_lease": (12, 0.6, {"lease": "5s", "send_timeout": "2s"}),
    # each answer takes 4.5 s, past apprise's 4 s default timeout; default lease and timeout.
    "receiver_slower_than_4s": (2, 4.5, {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(SLOW_RECEIVERS))
def test_G13_two_daemons_and_a_slow_receiver_deliver_every_alert_exactly_once(
        tmp_path: Path, receiver: Receiver, database_url: str, case: str) -> None:
    """Issue 10: two daemons on one database (SQLite, PostgreSQL) and a slow webhook; every
    alert arrives once (counted by its Idempotency-Key) and every row ends sent."""
    items, delay, timing = SLOW_RECEIVERS[case]
    site = tmp_path / "site"
    write_site(site, items)
    receiver.delay = delay
    with serve_directory(site) as base:
        config = config_for(tmp_path, [{"url": f"{base}/feed.xml", "name": "Wire"}],
                            f"json://127.0.0.1:{receiver.port}/hook", database_url=database_url)
        data = yaml.safe_load(config.read_text())
        data["delivery"] = {"console": False, "default_channels": ["hook"],
                            "backoff_base": "1s", **timing}
        config.write_text(yaml.safe_dump(data))
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        daemons = [DaemonProcess(config), DaemonProcess(config)]
        try:
            wait_for(lambda: len({h.headers.get("Idempotency-Key")
                                  for h in receiver.hits_for("/hook")}) >= items,
                     90, "every alert to arrive")
        finally:
            for daemon in daemons:
                daemon.wait_running()
                daemon.proc.send_signal(signal.SIGTERM)  # in-flight sends finish first
            codes = [d.proc.wait(timeout=30) for d in daemons]
    assert codes == [0, 0]
    keys = [h.headers.get("Idempotency-Key") for h in receiver.hits_for("/hook")]
    logs = "".join(line for d in daemons for line in d.stderr[-40:])
    assert len(keys) == items and len(set(keys)) == items, (keys, logs)  # no double, no loss
    assert all(k and k.startswith("nm-") for k in keys)
    listing = run_cli(config, "notifications", "--json").stdout.splitlines()
    assert len(listing) == items and all('"status": "sent"' in line for line in listing)
    assert not any("Traceback" in line for d in daemons for line in d.stderr)

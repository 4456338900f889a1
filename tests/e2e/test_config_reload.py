"""The real daemon follows monitor.yaml while it runs: a feed added to the file is polled
without a restart, a broken edit or a missing file is reported and changes nothing, a setting
that needs a restart says so, and SIGHUP reloads instead of killing the process."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import yaml

from tests.daemon_support import DaemonProcess, invoke_cli, serve_directory, wait_for
from tests.e2e.test_delivery import WORDS, config_for, write_site
from tests.notify_support import Receiver


def _write_other_site(site: Path) -> None:
    """One article about the same topic, in words of its own (not a copy of write_site's)."""
    site.mkdir(parents=True)
    rng = random.Random(99)
    body = "".join(f"<p>{' '.join(rng.choice(WORDS) for _ in range(70))} ceasefire.</p>"
                   for _ in range(4))
    title = "Ceasefire envoy arrives"
    (site / "b0.html").write_text(
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}"
        "</article></body></html>")
    (site / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Other</title>'
        "<link>http://x/</link><description>d</description><item><title>"
        f"{title}</title><link>b0.html</link><guid>b0</guid></item></channel></rss>")


def _save(path: Path, data: dict[str, object]) -> None:
    """Save as editors do: a new file renamed over the old one (the mode kept)."""
    fresh = path.with_name(f".{path.name}.tmp")
    fresh.write_text(yaml.safe_dump(data))
    fresh.chmod(0o600)
    fresh.replace(path)


def _titles(config: Path) -> set[str]:
    result = invoke_cli(config, "hits", "--json")
    return {yaml.safe_load(line)["title"] for line in result.stdout.splitlines() if line.strip()}


def test_the_daemon_follows_monitor_yaml_and_reloads_on_sighup(
        tmp_path: Path, receiver: Receiver) -> None:
    write_site(tmp_path / "site" / "a", 1)
    _write_other_site(tmp_path / "site" / "b")
    with serve_directory(tmp_path / "site") as base:
        first: dict[str, object] = {"url": f"{base}/a/feed.xml", "name": "Wire"}
        config = config_for(tmp_path, [first], f"json://127.0.0.1:{receiver.port}/hook")
        data = yaml.safe_load(config.read_text())
        data["channels"]["ops"] = {"urls": [f"json://127.0.0.1:{receiver.port}/ops"]}
        data["delivery"]["admin_channel"] = "ops"
        _save(config, data)
        assert invoke_cli(config, "db", "upgrade").returncode == 0
        daemon = DaemonProcess(config)
        try:
            daemon.wait_running()
            wait_for(lambda: _titles(config) == {"Ceasefire talks, day 0"}, 90, "feed a's hit")

            # A feed added to the file: polled at the next tick, no restart.
            data["feeds"] = [first, {"url": f"{base}/b/feed.xml", "name": "Other"}]
            _save(config, data)
            wait_for(lambda: "Ceasefire envoy arrives" in _titles(config), 60,
                     "the added feed's hit")
            assert any("configuration reloaded: feeds 1 added, 0 removed, 0 changed" in line
                       for line in daemon.stderr)

            # A broken edit: reported at its line, and the daemon goes on as it was.
            config.write_text(config.read_text().replace("tick: 1s", "tik: 1s"))
            wait_for(lambda: any("configuration not reloaded" in line for line in daemon.stderr),
                     30, "the broken edit reported")
            line = config.read_text().splitlines().index("  tik: 1s") + 1
            problem = f"{config}:{line}: polling.tik: unknown setting; did you mean tick?"
            assert any(problem in line for line in daemon.stderr), "".join(daemon.stderr[-20:])
            wait_for(lambda: receiver.hits_for("/ops"), 30, "the admin notice")
            assert problem in receiver.hits_for("/ops")[0].body.decode()

            # The file gone (moved away, say): reported, and nothing changes.
            config.unlink()
            wait_for(lambda: any("cannot read the configuration" in line
                                 for line in daemon.stderr), 30, "the missing file reported")

            # A setting only a restart applies: named, not applied.
            data["polling"] = {**data["polling"], "tick": "2s"}
            _save(config, data)
            wait_for(lambda: any("polling.tick changed; in force after a restart" in line
                                 for line in daemon.stderr), 30, "the restart warning")
            wait_for(lambda: "restart to apply monitor.yaml's polling.tick"
                     in invoke_cli(config, "status").stdout, 30, "monitor status to tell")

            # SIGHUP: rules and configuration reloaded; the process lives on.
            loads = sum("rules loaded:" in line for line in daemon.stderr)
            daemon.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: sum("configuration reloaded" in line for line in daemon.stderr)
                     >= 3, 30, "the configuration reloaded by SIGHUP")
            assert sum("rules loaded:" in line for line in daemon.stderr) == loads + 1
            assert sum("polling.tick changed" in line for line in daemon.stderr) == 2
            assert daemon.proc.poll() is None

            # Valid but rarely meant: 20 seconds written as a bare number, logged at its line.
            data["polling"] = {**data["polling"], "default_interval": 20}
            _save(config, data)
            wait_for(lambda: any(
                "polling.default_interval: 20 is 20 seconds" in line and f"{config}:" in line
                for line in daemon.stderr), 30, "the bare-seconds note")
        finally:
            code, _ = daemon.terminate()
    assert code == 0

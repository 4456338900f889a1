"""A typo in a rule's ``notify:`` loses no alert (issue 10, item 7): the real daemon reports it
as ``path:line: message`` on reload, tells the admin channel, prints the hits on the console
and stores them, and delivers them once the rule is fixed."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.daemon_support import DaemonProcess, run_cli, serve_directory, wait_for
from tests.e2e.test_delivery import write_site
from tests.notify_support import Receiver

RULE = "rules:\n  - id: talks\n    name: Ceasefire talks\n    query: ceasefire\n    notify: [{}]\n"


def test_a_notify_typo_is_reported_and_its_alerts_arrive_after_the_fix(
        tmp_path: Path, receiver: Receiver) -> None:
    site = tmp_path / "site"
    write_site(site, 2)
    rules = tmp_path / "rules"
    rules.mkdir()
    rule_file = rules / "r.yaml"
    rule_file.write_text(RULE.format("hokk"))  # a typo of "hook"
    with serve_directory(site) as base:
        config = tmp_path / "monitor.yaml"
        config.write_text(yaml.safe_dump({
            "database_url": f"sqlite:///{tmp_path / 'monitor.db'}",
            "rules_dir": str(rules),
            "feeds": [{"url": f"{base}/feed.xml", "name": "Wire"}],
            "channels": {"hook": {"urls": [f"json://127.0.0.1:{receiver.port}/hook"]},
                         "ops": {"urls": [f"json://127.0.0.1:{receiver.port}/ops"]}},
            "http": {"allow_private_networks": ["127.0.0.1/32"], "respect_robots_txt": False},
            "polling": {"tick": "1s", "default_interval": "1h"},
            "delivery": {"console": False, "admin_channel": "ops", "backoff_base": "1s"},
            "extract": {"workers": 1},
        }))
        config.chmod(0o600)
        assert run_cli(config, "db", "upgrade").returncode == 0
        daemon = DaemonProcess(config)
        try:
            daemon.wait_running()
            problem = f"{rule_file}:2: rule talks: notify: unknown channel 'hokk'"
            assert any(problem in line for line in daemon.stderr), "".join(daemon.stderr)
            wait_for(lambda: len(_hits(config)) == 2, 90, "both hits stored")
            # No deliverable channel: printed on the console although delivery.console is off.
            wait_for(lambda: daemon.output.count("Ceasefire talks, day") >= 2, 30,
                     "the hits on the console")
            wait_for(lambda: receiver.hits_for("/ops"), 30, "the admin notice")
            assert problem in receiver.hits_for("/ops")[0].body.decode()
            assert receiver.hits_for("/hook") == []
            rule_file.write_text(RULE.format("hook"))  # the fix
            wait_for(lambda: len(receiver.hits_for("/hook")) == 2, 60,
                     "the pending alerts after the fix")
        finally:
            code, _ = daemon.terminate()
    assert code == 0
    titles = sorted(json.loads(h.body)["alert"]["title"] for h in receiver.hits_for("/hook"))
    assert titles == ["Ceasefire talks, day 0", "Ceasefire talks, day 1"]


def _hits(config: Path) -> list[dict[str, object]]:
    result = run_cli(config, "hits", "--json")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

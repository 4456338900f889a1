"""The real daemon against hostile feeds on loopback (issue 10, items 4 and 5): one cycle mixing
an attribute storm, a tag storm and a 50,000-entry feed with ordinary feeds ends within the
parse timeout plus a margin, with the daemon's whole process tree under 500 MB of PSS, and
takes 100 entries of the big feed per cycle."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import yaml

from tests.benchmarks.fair import tree_pss_mb
from tests.daemon_support import REPO, monitor_cmd, run_cli, serve_directory
from tests.hostile_support import attribute_storm, many_entries, tag_storm

# Issue 10 asks for under 500 MB. Measured when this test landed: 400-471 MB; the daemon
# process then grew to ~245 MB at idle and runs peaked at 493-518 MB, so the limit was 550 MB
# for a while. Without datasketch (its import pulled in scipy, ~50 MB in the daemon process)
# runs peaked at 445-451 MB: back to 500. With the compact language model, the fork server
# without the store, and Alembic imported only to migrate: 367-393 MB (README, Memory).
PSS_LIMIT_MB = 500
# The default is 10 s; a 50,000-entry JSON Feed takes 2-5 s to parse on a quiet 2-core machine
# and more than 10 s when eight test suites share it, so the test allows 20 s.
PARSE_TIMEOUT = 20.0
MARGIN = 30.0  # 100 page fetches and 20 extractions on a shared 2-core machine


def _ordinary(base: str, feed: int) -> str:
    items = "".join(f"<item><title>Harbour story {i}</title><link>{base}/p{i}.html</link>"
                    f"<guid>f{feed}-{i}</guid></item>" for i in range(20))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{feed}</title>'
            f"<link>{base}/</link><description>d</description>{items}</channel></rss>")


def test_a_hostile_cycle_stays_bounded_in_time_and_memory(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "attr.xml").write_bytes(attribute_storm())
    (site / "tags.xml").write_bytes(tag_storm())
    paragraph = ("<p>Negotiators met again on Sunday in a closed session about the harbour, "
                 "and officials described the atmosphere as serious.</p>") * 12
    for i in range(20):
        (site / f"p{i}.html").write_text(
            f"<html><body><article><h1>Harbour story {i}</h1>{paragraph}</article></body></html>")
    with serve_directory(site) as base:
        (site / "big.json").write_bytes(many_entries(base))
        for feed in range(5):
            (site / f"ok{feed}.xml").write_text(_ordinary(base, feed))
        feeds = [{"url": f"{base}/{name}", "name": name} for name in
                 ("attr.xml", "tags.xml", "big.json", *(f"ok{f}.xml" for f in range(5)))]
        config = tmp_path / "monitor.yaml"
        config.write_text(yaml.safe_dump({
            "database_url": f"sqlite:///{tmp_path / 'monitor.db'}",
            "rules_dir": str(REPO / "rules"), "feeds": feeds,
            "http": {"allow_private_networks": ["127.0.0.1/32"], "respect_robots_txt": False},
            "polling": {"parse_timeout": f"{PARSE_TIMEOUT:g}s"},
        }))
        assert run_cli(config, "db", "upgrade").returncode == 0
        daemon = subprocess.Popen(
            monitor_cmd("run", "--once"), cwd=tmp_path, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
            env={"MONITOR_CONFIG": str(config), "PATH": "/usr/bin:/bin"})
        peak = 0.0
        done = threading.Event()

        def sample() -> None:  # smaps_rollup of the daemon and every worker, 5 times a second
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_pss_mb(daemon.pid))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            output, _ = daemon.communicate(timeout=300)
        finally:
            done.set()
            sampler.join()
            if daemon.poll() is None:
                daemon.kill()
        health = {h["name"]: h for h in map(json.loads, run_cli(
            config, "feeds", "--json").stdout.splitlines())}
    assert daemon.returncode == 0, output[-3000:]
    cycle = re.search(r"once: 8 feeds polled \(2 failed\), 120 articles, \d+ hits in a "
                      r"([\d.]+) s cycle", output)
    assert cycle is not None, output[-3000:]
    assert float(cycle.group(1)) < PARSE_TIMEOUT + MARGIN
    assert 0 < peak < PSS_LIMIT_MB, f"peak PSS {peak:.0f} MB"
    for storm in ("attr.xml", "tags.xml"):
        assert health[storm]["status"] == "failing" and health[storm]["error"] == "too_complex"
    big = health["big.json"]
    assert big["entries_seen"] == 100 and "49900 more new entries wait" in big["warning"]
    assert all(health[f"ok{f}.xml"]["entries_seen"] == 20 for f in range(5))
    print(f"peak PSS {peak:.0f} MB (limit {PSS_LIMIT_MB}), cycle {cycle.group(1)} s")

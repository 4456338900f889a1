"""`monitor run` serves the web view beside the daemon; `monitor web` refuses an open address
without authentication."""

from __future__ import annotations

import http.client
import re
import resource
import socket
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.daemon_support import DaemonProcess, invoke_cli, run_cli, wait_for
from tests.e2e.test_daemon import GAZA_TITLE, UKRAINE_TITLE, seed_only_config


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode("utf-8"))


def _get_or_none(url: str) -> str | None:
    """The page, or None while the server closes new connections (over its cap)."""
    try:
        return _get(url)
    except (OSError, http.client.HTTPException):
        return None


@pytest.mark.slow
def test_run_serves_the_seed_stories_with_highlights(tmp_path: Path) -> None:
    config = seed_only_config(tmp_path)
    assert invoke_cli(config, "db", "upgrade").returncode == 0
    started = time.monotonic()
    daemon = DaemonProcess(config)
    try:
        line = wait_for(lambda: re.search(r"web view: (http://\S+)", daemon.output), 60,
                        "the web view's URL on standard output")
        url = line.group(1)
        page = wait_for(lambda: (p := _get(url)) and GAZA_TITLE in p and UKRAINE_TITLE in p
                        and p, 60, "both seed stories on the stories page")
        assert time.monotonic() - started < 60
        assert len(re.findall(r"<mark[^>]*>", page)) >= 4
        assert "2 stories" in page
    finally:
        code, _ = daemon.terminate()
    assert code == 0


@pytest.mark.parametrize(("web", "said"), [
    ({"listen": "0.0.0.0:18099"}, "no authentication is configured"),
    # a prefix its own pages would make ambiguous behind a proxy that strips it
    ({"listen": "127.0.0.1:0", "public_url": "https://x.example/feeds/"},
     "web.public_url: the path /feeds/"),
], ids=["open-address", "ambiguous-prefix"])
def test_web_and_run_refuse_a_web_view_that_must_not_start(tmp_path: Path,
                                                           web: dict[str, str],
                                                           said: str) -> None:
    config = seed_only_config(tmp_path, web=web)
    assert invoke_cli(config, "db", "upgrade").returncode == 0
    for command in (["web"], ["run"]):
        result = run_cli(config, *command, timeout=60)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], result.stderr


def test_web_token_create_prints_a_token_once(tmp_path: Path) -> None:
    config = seed_only_config(tmp_path)
    assert invoke_cli(config, "db", "upgrade").returncode == 0
    made = run_cli(config, "web", "token", "create", "reader")
    assert made.returncode == 0 and made.stdout.startswith("nm_")
    assert run_cli(config, "web", "token", "create", "reader").returncode == 2
    listed = run_cli(config, "web", "token", "list")
    assert "reader" in listed.stdout and made.stdout.strip() not in listed.stdout
    assert run_cli(config, "web", "token", "revoke", "reader").returncode == 0


@pytest.mark.slow
def test_a_flood_of_idle_web_connections_leaves_the_daemon_its_files(tmp_path: Path) -> None:
    """1,100 connections to the web view that sent nothing held 1,100 file descriptors for
    good: a daemon started under the usual soft limit of 1,024 failed to start its extraction
    workers (Too many open files) and exited. Now its soft limit is raised, the web view
    holds at most 512 connections, and each must send its request within 10 s."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"the hard limit on open files here is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))  # this test's own 1,100
    config = seed_only_config(tmp_path)
    assert invoke_cli(config, "db", "upgrade").returncode == 0
    daemon = DaemonProcess(config, open_files=(1024, 4096))
    idle: list[socket.socket] = []
    try:
        url = urlsplit(wait_for(lambda: re.search(r"web view: (http://\S+)", daemon.output), 60,
                                "the web view's URL").group(1))
        limits = Path(f"/proc/{daemon.proc.pid}/limits").read_text()
        assert re.search(r"Max open files\s+4096\s+4096", limits), limits
        for _ in range(1100):
            idle.append(socket.create_connection((url.hostname or "", url.port or 0),
                                                 timeout=30))
        daemon.wait_running()
        wait_for(lambda: "".join(daemon.stderr).count("cycle:") >= 2, 60,
                 "cycles to go on while the connections are open")
        assert daemon.proc.poll() is None
        assert "Too many open files" not in "".join(daemon.stderr)
        page = wait_for(lambda: _get_or_none(f"{url.scheme}://{url.netloc}/"), 30,
                        "the stories page once the idle connections are closed")
        assert "stories" in page
    finally:
        for conn in idle:
            conn.close()
        code, _ = daemon.terminate()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert code == 0

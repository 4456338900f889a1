"""The daemon under systemd's notification protocol, and the operator commands, end to end."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.daemon.test_ops import get
from tests.daemon_support import DaemonProcess, invoke_cli, run_cli, wait_for
from tests.e2e.test_daemon import seed_only_config


def test_daemon_sends_ready_status_and_watchdog_pings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local NOTIFY_SOCKET listener, as systemd provides for Type=notify with WatchdogSec."""
    config = seed_only_config(tmp_path)
    assert run_cli(config, "db", "upgrade").returncode == 0
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        listener.settimeout(1.0)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # WatchdogSec=1s: ping every 0.5 s
        daemon = DaemonProcess(config)
        messages: list[str] = []
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    messages.append(listener.recv(4096).decode())
                if (daemon.proc.poll() is not None
                        or (sum(m == "WATCHDOG=1" for m in messages) >= 3
                            and any("STATUS=cycle:" in m for m in messages))):
                    break
            assert daemon.proc.poll() is None, "".join(daemon.stderr)
            code, _ = daemon.terminate()
            while True:  # STOPPING=1 was sent before exit
                try:
                    messages.append(listener.recv(4096).decode())
                except TimeoutError:
                    break
        finally:
            daemon.kill()
    ready = [m for m in messages if "READY=1" in m]
    assert ready, messages
    first_ready = messages.index(ready[0])
    pings = [i for i, m in enumerate(messages) if m == "WATCHDOG=1"]
    assert len(pings) >= 3 and pings[-1] > first_ready, messages
    assert any(m.startswith("STATUS=cycle: 1 feeds polled") for m in messages), messages
    assert any("STOPPING=1" in m for m in messages)
    assert code == 0


def test_health_and_status_commands(tmp_path: Path) -> None:
    config = seed_only_config(tmp_path)
    result = run_cli(config, "health", "--json")  # one real process: what a probe runs
    assert result.returncode == 1  # no database yet: not ready (and none is created)
    report = json.loads(result.stdout)  # --json: JSON even then
    assert report["ready"] is False and "no database" in json.dumps(report["checks"])
    # The rest in this process: the same commands without a second of imports each.
    assert invoke_cli(config, "db", "upgrade").returncode == 0
    result = invoke_cli(config, "health", "--json")
    assert result.returncode == 3  # ready, but no daemon is running
    assert json.loads(result.stdout)["checks"]["migrations"]["ok"] is True
    result = invoke_cli(config, "health")
    assert result.returncode == 3, result.stdout  # ready, but no daemon is running
    assert "none alive" in result.stdout
    assert invoke_cli(config, "health", "--ready-only").returncode == 0
    daemon = DaemonProcess(config)
    try:
        daemon.wait_running()

        def cycled() -> subprocess.CompletedProcess[str] | None:
            result = invoke_cli(config, "status")
            return result if "last cycle" in result.stdout else None
        status = wait_for(cycled, 60, "monitor status to show the daemon's last cycle")
        assert "1 daemon alive" in status.stdout
        # The probes are on the web view's listener too (no sign-in configured here).
        web = re.search(r"web view: (http://\S+?)/?\n", daemon.output)
        assert web, daemon.output
        assert get(f"{web.group(1)}/healthz")[0] == 200
        assert get(f"{web.group(1)}/readyz")[0] == 200
        assert b"newsmonitor_articles_stored_total 2.0" in get(f"{web.group(1)}/metrics")[1]
        assert "1 feeds polled" in status.stdout
        assert invoke_cli(config, "health").returncode == 0
        code, _ = daemon.terminate()
        assert code == 0
    finally:
        daemon.kill()
    assert "0 daemons alive" in invoke_cli(config, "status").stdout  # a clean stop
    # takes its heartbeat row with it

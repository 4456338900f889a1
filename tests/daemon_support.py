"""Running the real daemon in a subprocess or a thread, and serving files over HTTP on
loopback."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.daemon import Daemon

REPO = Path(__file__).resolve().parent.parent


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)  # polling interval of a deadline loop, not a wait for an event


@contextmanager
def daemon_in_thread(config: Config, **options: Any) -> Iterator[Daemon]:
    """The real daemon on ``config``, run in a thread of this process (``options`` go to
    :class:`~monitor.daemon.Daemon`); stopped on leaving the block, which checks it exited."""
    from monitor.daemon import Daemon, build_service  # every stage: only for tests that run it

    service = build_service(config)
    daemon = Daemon(service, **options)
    runner = threading.Thread(target=daemon.run, daemon=True)
    runner.start()
    try:
        yield daemon
    finally:
        service.stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()


def monitor_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", *args]


def run_cli(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MONITOR_CONFIG": str(config)}
    env.pop("MONITOR_DATABASE_URL", None)
    return subprocess.run(monitor_cmd(*args), env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=config.parent)


def invoke_cli(config: Path, *args: str,
               stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """:func:`run_cli` in this process (typer's runner): the same command, exit code and
    output without a new interpreter's second of imports, for tests that run many."""
    from tests.cli_support import cli

    code, out, err = cli(*args, config=config, stdin=stdin)
    return subprocess.CompletedProcess(args, code, out, err)


class DaemonProcess:
    """``monitor run`` in a subprocess with its output collected line by line."""

    def __init__(self, config: Path, *args: str,
                 open_files: tuple[int, int] | None = None) -> None:
        """``open_files``: the (soft, hard) limit on open files it starts with."""
        env = {**os.environ, "MONITOR_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
        env.pop("MONITOR_DATABASE_URL", None)

        def limits() -> None:
            if open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, open_files)

        self.proc = subprocess.Popen(
            monitor_cmd("run", *args), env=env, cwd=config.parent, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=limits)  # noqa: PLW1509 (one setrlimit call, no lock taken)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    @property
    def output(self) -> str:
        return "".join(self.stdout)

    def wait_running(self, timeout: float = 60.0) -> None:
        """Wait until the daemon reports it is running (or has already exited)."""
        wait_for(lambda: self.proc.poll() is not None
                 or any("newsmonitor running" in line for line in self.stderr + self.stdout),
                 timeout, "the daemon to start")

    def terminate(self, timeout: float = 10.0) -> tuple[int, float]:
        """SIGTERM once the daemon is up, then the exit code and the seconds it took to exit.

        Signalling before the interpreter has even installed its handlers would test
        Python's start-up, not the daemon's shutdown.
        """
        self.wait_running()
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"daemon did not exit within {timeout}s of SIGTERM:\n"
                                 + "".join(self.stderr[-30:])) from None
        for reader in self._readers:
            reader.join(timeout=5)
        return code, time.monotonic() - start

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(directory: Path, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``directory`` over HTTP on loopback; yields the base URL."""
    server = ThreadingHTTPServer((host, 0), partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

"""The ``monitor`` command run in this process (typer's runner), as most CLI tests call it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app


def cli(*args: str, config: Path | None = None,
        stdin: str | bytes | None = None) -> tuple[int, str, str]:
    """``monitor [--config CONFIG] ARGS`` with no ``MONITOR_*`` variable of the caller's
    environment: the exit code, standard output and standard error. An exception other than
    an exit fails the test (the CLI turns every expected problem into a message)."""
    argv = ["--config", str(config), *args] if config is not None else list(args)
    result = CliRunner().invoke(app, argv, input=stdin,
                                env={"MONITOR_DATABASE_URL": None, "MONITOR_CONFIG": None})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    return result.exit_code, result.stdout, result.stderr

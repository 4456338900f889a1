"""The shared Typer application and what every command needs: the configuration and exits.

Commands live in one module per area (``service``, ``rules``, ``feeds``, ``hits``,
``notifications``) and register themselves on :data:`app`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from monitor import DEFAULT_CONFIG_FILE, __version__
from monitor.cli.plainhelp import PlainCommand, PlainGroup
from monitor.errors import ConfigError, MonitorError

if TYPE_CHECKING:  # pydantic models load when a command needs the configuration
    from monitor.config import Config, StageChecks


_F = TypeVar("_F", bound=Callable[..., Any])


class MonitorApp(typer.Typer):
    """A Typer app whose commands and groups print plain help (see :mod:`.plainhelp`)."""

    def __init__(self, **kwargs: Any) -> None:
        # Plain help: rich's formatter costs 0.1 s of imports on every --help (make bench).
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("cls", PlainGroup)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(  # typer.Typer.command, with PlainCommand as the default cls
        self, name: str | None = None, **kwargs: Any
    ) -> Callable[[_F], _F]:
        kwargs.setdefault("cls", PlainCommand)
        decorator: Callable[[_F], _F] = super().command(name, **kwargs)
        return decorator


class RootGroup(PlainGroup):
    """The ``monitor`` group: every command runs inside its :meth:`invoke`."""

    def invoke(self, ctx: Any) -> Any:
        """A reader that stops early (``monitor backtest | head -1``) ends the command
        quietly with exit 0, as ``head`` left it: typer would exit 1, and Python would
        print "Exception ignored" at exit for what is still buffered."""
        try:
            try:
                return super().invoke(ctx)
            finally:
                # A closed pipe shows here, not at the interpreter's exit; no sys.stdout at
                # all when the process started with it closed (`monitor run >&-`).
                if sys.stdout is not None:
                    sys.stdout.flush()
        except BrokenPipeError:
            # The Python docs' way (signal module, "Note on SIGPIPE"): stdout onto devnull,
            # so that the final flush of what is still buffered goes nowhere, silently.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None


def group(help: str, **kwargs: Any) -> MonitorApp:
    """A command group (``monitor feeds``, ``monitor db``...) with plain help."""
    return MonitorApp(help=help, **kwargs)


app = MonitorApp(
    name="monitor",
    help="newsmonitor: poll news feeds, match watch rules, alert by email and chat.",
    no_args_is_help=True,
    # --install-completion and --show-completion (bash, zsh, fish, PowerShell).
    add_completion=True,
    cls=RootGroup,
)

EXIT_USAGE = 2


@dataclass
class CliState:
    config_path: Path | None
    verbose: bool


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"newsmonitor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", envvar="MONITOR_CONFIG",
            help=f"Configuration file (default: ./{DEFAULT_CONFIG_FILE} if present, "
            "else the embedded defaults). Also MONITOR_CONFIG.",
            dir_okay=False, metavar="PATH",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", is_eager=True,
        callback=_print_version)] = False,
) -> None:
    ctx.obj = CliState(config_path=config, verbose=verbose)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one line to stderr and exit: the CLI's only way out on a user error."""
    typer.echo(f"monitor: {message}", err=True)
    raise typer.Exit(code)


def fail_config(exc: ConfigError, code: int = EXIT_USAGE) -> NoReturn:
    """Every problem of the configuration, one ``path:line: field: message`` line each."""
    for problem in exc.problems:
        typer.echo(f"monitor: {problem}", err=True)
    raise typer.Exit(code)


def stage_checks() -> StageChecks:
    """What the configuration cannot judge itself, from the stages that can (see
    :class:`monitor.config.StageChecks`); imports them, so only for the commands that need it."""
    from monitor.config import StageChecks
    from monitor.delivery import destination_problem, schedule_problem, template_problem
    from monitor.net import allow_entry_problem, url_problem
    from monitor.web import base_path_problem, listen_problem

    return StageChecks(channel_url=destination_problem, digest_schedule=schedule_problem,
                       template=template_problem, private_network=allow_entry_problem,
                       web=listen_problem, web_path=base_path_problem, feed_url=url_problem)


def read_config(ctx: typer.Context, *, deliverable: bool = False,
                serves_web: bool = True) -> Config:
    """The configuration for this invocation; raises ConfigError with every problem.

    ``deliverable``: what only the stages can judge is checked too (:func:`stage_checks`:
    channel URLs, digest schedules, templates, private networks, the web address), for the
    commands that send or check; the others do not load those stages. ``serves_web=False``:
    the web address is not checked (``monitor run --no-web`` serves no web view)."""
    from monitor.config import load_config

    state: CliState = ctx.find_root().obj or CliState(None, False)
    checks = stage_checks() if deliverable else None
    if checks is not None and not serves_web:
        checks = dataclasses.replace(checks, web=lambda _web: None, web_path=lambda _web: None)
    config = load_config(config_path(ctx), os.environ, checks=checks)
    from monitor.cli.logs import setup_logging
    setup_logging("DEBUG" if state.verbose else config.log_level, config.log_format)
    return config


def config_path(ctx: typer.Context) -> Path | None:
    """The configuration file of this invocation: ``--config``, else ``./monitor.yaml`` if
    present; None: the embedded defaults."""
    state: CliState = ctx.find_root().obj or CliState(None, False)
    path = state.config_path
    if path is None and Path(DEFAULT_CONFIG_FILE).exists():
        path = Path(DEFAULT_CONFIG_FILE)
    return path


def reread_config(path: Path) -> Config:
    """``path`` read again as ``monitor run`` read it at start (the daemon's reloads)."""
    from monitor.config import load_config
    return load_config(path, os.environ, checks=stage_checks())


def get_config(ctx: typer.Context, *, deliverable: bool = False,
               serves_web: bool = True) -> Config:
    """The validated configuration for this invocation; a bad one exits 2 with file:line."""
    try:
        return read_config(ctx, deliverable=deliverable, serves_web=serves_web)
    except ConfigError as exc:
        fail_config(exc)


def exit_on_error(exc: MonitorError, code: int = 1) -> NoReturn:
    fail(str(exc), code)

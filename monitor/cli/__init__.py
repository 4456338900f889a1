"""The ``monitor`` command line. Each area of commands is one module; importing it registers it."""

from __future__ import annotations

# Command modules register themselves on ``app`` when imported (one line per area).
from monitor.cli import backtest as _backtest  # noqa: F401
from monitor.cli import feeds as _feeds  # noqa: F401
from monitor.cli import hits as _hits  # noqa: F401
from monitor.cli import notifications as _notifications  # noqa: F401
from monitor.cli import rules as _rules  # noqa: F401
from monitor.cli import service as _service  # noqa: F401
from monitor.cli.app import app


def main() -> None:
    """Console entry point (``monitor`` and ``python -m monitor``)."""
    app()


__all__ = ["app", "main"]

"""The cli stage: the ``monitor`` command line, the outermost layer.

Each area of commands is one module (service, rules, feeds, hits, notifications, backtest,
web, ops);
importing it registers its commands on the Typer app. A command imports the stages it needs
when it runs, not when the module loads, so ``monitor --help`` stays fast (``make bench``).

Nothing imports the cli: it is the top layer and may use any stage's public names.
"""

from __future__ import annotations

# Command modules register themselves on ``app`` when imported (one line per area).
from monitor.cli import backtest as _backtest  # noqa: F401
from monitor.cli import feeds as _feeds  # noqa: F401
from monitor.cli import feeds_opml as _feeds_opml  # noqa: F401
from monitor.cli import hits as _hits  # noqa: F401
from monitor.cli import notifications as _notifications  # noqa: F401
from monitor.cli import ops as _ops  # noqa: F401
from monitor.cli import rules as _rules  # noqa: F401
from monitor.cli import service as _service  # noqa: F401
from monitor.cli import starter as _starter  # noqa: F401
from monitor.cli import trial as _trial  # noqa: F401
from monitor.cli import web as _web  # noqa: F401
from monitor.cli.app import app


def main() -> None:
    """Console entry point (``monitor`` and ``python -m monitor``)."""
    app()


__all__ = ["app", "main"]

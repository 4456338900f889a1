"""The ``monitor`` command line. Each area of commands is one module; importing it registers it."""

from __future__ import annotations

from monitor.cli.app import app

# Command modules register themselves on ``app`` when imported (one line per area).


def main() -> None:
    """Console entry point (``monitor`` and ``python -m monitor``)."""
    app()


__all__ = ["app", "main"]

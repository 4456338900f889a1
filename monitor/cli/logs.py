"""Log output: ``log_format: text`` (one readable line) or ``json`` (one object per line).

Both carry ISO 8601 timestamps with the zone offset (local time, e.g.
``2026-12-01T22:40:05.123+07:00``). Secrets are masked by a filter on the handler
(monitor.daemon.service.install_secret_masking) before any formatter sees the record.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def iso_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created).astimezone().isoformat(
        timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_time(record)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"[, "exception"]}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": iso_time(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr in ``log_format``; replaces any handler set up before."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that log every request or job at INFO (httpx2: one line per GET, hundreds a
    # cycle) would drown the daemon's own lines, and pymorphy3 logs where its dictionary
    # loads from; their warnings and errors still show.
    for name in ("httpx2", "apscheduler", "alembic", "pymorphy3"):
        logging.getLogger(name).setLevel(logging.WARNING)

"""Log lines: ISO 8601 times with their zone, text or JSON."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

from monitor.cli.logs import TEXT_FORMAT, JsonFormatter, TextFormatter


def _record(message: str = "cycle: %d feeds polled", *args: object) -> logging.LogRecord:
    if "%" in message and not args:
        args = (3,)
    return logging.LogRecord("monitor.daemon.schedule", logging.INFO, __file__, 1, message,
                             args, None)


def test_text_lines_carry_an_iso_time_with_its_zone() -> None:
    line = TextFormatter(TEXT_FORMAT).format(_record())
    stamp, level, logger, *_ = line.split(" ", 3)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", stamp), stamp
    assert datetime.fromisoformat(stamp).tzinfo is not None
    assert (level, logger) == ("INFO", "monitor.daemon.schedule:")
    assert line.endswith("cycle: 3 feeds polled")


def test_json_lines_are_one_object_each() -> None:
    entry = json.loads(JsonFormatter().format(_record()))
    assert entry["message"] == "cycle: 3 feeds polled"
    assert entry["level"] == "INFO" and entry["logger"] == "monitor.daemon.schedule"
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        record = _record("failed")
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exception"]

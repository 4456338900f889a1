"""``polling.revise_within`` and ``polling.max_revisions``: the bounds of revised entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import PollingConfig, load_config
from monitor.errors import ConfigError


def _load(tmp_path: Path, text: str) -> PollingConfig:
    path = tmp_path / "monitor.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return load_config(path, {}).polling


def test_the_defaults_revisit_for_two_days_five_times(tmp_path: Path) -> None:
    polling = _load(tmp_path, "log_level: INFO\n")
    assert (polling.revise_within, polling.max_revisions) == (2 * 86400.0, 5)


def test_durations_and_zero_are_read(tmp_path: Path) -> None:
    polling = _load(tmp_path, "polling:\n  revise_within: 6h\n  max_revisions: 0\n")
    assert (polling.revise_within, polling.max_revisions) == (6 * 3600.0, 0)


@pytest.mark.parametrize("text", ["polling:\n  max_revisions: -1\n",
                                  "polling:\n  revise_within: soon\n"])
def test_bad_values_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        _load(tmp_path, text)

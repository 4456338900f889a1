"""Whether this process ignores file permissions, for the tests that need them to hold.

Root ignores them (CAP_DAC_OVERRIDE), so those tests skip when run by root; `.ci/run` runs
them again (``pytest -m permissions``) as root without that capability (``setpriv``), so CI
does not skip them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

_Test = TypeVar("_Test", bound=Callable[..., object])


def _writes_a_read_only_file() -> bool:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "read-only"
        path.write_text("x")
        path.chmod(0o400)
        try:
            with path.open("a"):
                return True
        except PermissionError:
            return False


PERMISSIONS_IGNORED = _writes_a_read_only_file()


def needs_permissions(test: _Test) -> _Test:
    """Mark a test that needs file permissions to hold: skipped where they do not (root),
    selected by ``-m permissions`` for the run without the capability."""
    skipped = pytest.mark.skipif(PERMISSIONS_IGNORED, reason=(
        "this process ignores file permissions (root): .ci/run runs it again without that "
        "capability"))
    marked: _Test = pytest.mark.permissions(skipped(test))
    return marked

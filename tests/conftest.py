"""Fixtures shared by the whole suite.

Third-party corpora are used by path from ``../shared`` beside the repository, never copied:
the ``shared_dir`` fixture skips a test with a clear reason when that folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (corpora, seeds, docs); skips the test when it is not beside the repo."""
    if not (SHARED_DIR / "corpora").is_dir():
        pytest.skip(f"../shared is not beside the repository (looked in {SHARED_DIR})")
    return SHARED_DIR


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT

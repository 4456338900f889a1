"""Process set-up done by the composition root."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from tests.daemon_support import REPO

# Eight threads each allocate once, so glibc would give each its own arena; malloc_stats()
# prints one "Arena n:" block per arena to stderr.
_PROBE = """
import ctypes, sys, threading
from monitor.daemon.service import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas(2)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
barrier = threading.Barrier(8)
def allocate():
    libc.malloc(64)
    barrier.wait()  # all alive at once, so none inherits a finished thread's arena
threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc.malloc_stats()
"""


def _arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True)
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_the_daemon_caps_malloc_arenas() -> None:
    assert _arenas("default") > 2
    assert _arenas("limit") == 2

"""Only loopback, in every Python process the test suite starts.

``tests/conftest.py`` puts this folder first on ``PYTHONPATH``, so the interpreter of each
subprocess (the daemon of the end-to-end tests, CLI runs, the extraction and parse workers
they start) imports this module at start-up, as ``sitecustomize``, and installs
:func:`refuse_outside_loopback`: a connect to anything but a loopback address is refused as a
closed port would be, and a name other than ``localhost`` does not resolve, so no packet or
DNS query leaves the machine. The test process itself has the same rule with a record of what
was refused (``tests/fetch_support.py``), and fails the test that tried.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

LOCAL_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address literal (never through an IPv4-mapped form)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return False  # never dial loopback through a mapped form either: the fetcher must not
    return ip.is_loopback


def outside_loopback(event: str, args: tuple[Any, ...]) -> str | None:
    """What an audit event would reach outside loopback (``connect to host:port``, ``name
    lookup of host``), or None."""
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and address and not is_loopback(str(address[0])):
            return f"connect to {address[0]}:{address[1]}"
    elif event == "socket.getaddrinfo":
        name = args[0]
        host = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        if host is not None and host.lower() not in LOCAL_NAMES and not is_loopback(host):
            return f"name lookup of {host}"
    return None


def refusal(what: str) -> OSError:
    """The error an offline machine would give for ``what``."""
    if what.startswith("name lookup"):
        return socket.gaierror(socket.EAI_NONAME, f"test sandbox: {what} refused")
    return ConnectionRefusedError(f"test sandbox: {what} refused")


def refuse_outside_loopback(event: str, args: tuple[Any, ...]) -> None:
    """The audit hook of the suite's subprocesses."""
    what = outside_loopback(event, args)
    if what is not None:
        raise refusal(what)


if __name__ == "sitecustomize":  # at interpreter start-up, not when imported by the tests
    sys.addaudithook(refuse_outside_loopback)

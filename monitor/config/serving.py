"""The settings of what the daemon serves: the web view (:class:`WebConfig`, with its public
address) and the metrics listener (:class:`MetricsConfig`), and their ``host:port`` form."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator

from monitor.config.values import PositiveDuration, Section, Whole
from monitor.text import one_line


class WebConfig(Section):
    """The web view (monitor.web): where it listens and who may use it.

    Without ``users`` or ``trusted_proxy_header`` there is no authentication, and the server
    then listens on a loopback address only.
    """

    enabled: bool = True
    listen: str = "127.0.0.1:8080"
    # name -> argon2 hash (``monitor web passwd NAME`` prints one)
    users: dict[str, str] = Field(default_factory=dict)
    # A header set by an authenticating reverse proxy (e.g. Remote-User); trusted as is.
    trusted_proxy_header: str | None = None
    session_lifetime: PositiveDuration = 7 * 86400.0
    page_size: Whole = Field(50, ge=5, le=500)
    # Where people reach the web view (https://news.example.org/monitor/): alerts link to it,
    # and its path is the prefix the pages are served under behind a reverse proxy.
    public_url: str | None = None
    # Addresses or networks whose X-Forwarded-For and X-Forwarded-Proto are believed: the
    # reverse proxy's. From anywhere else the connecting address is the client.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        out = []
        for entry in value:
            try:
                out.append(str(ipaddress.ip_network(entry.strip(), strict=False)
                               if "/" in entry else ipaddress.ip_address(entry.strip())))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (such as "
                                 "172.18.0.1 or 172.16.0.0/12)") from None
        return out

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return None if value is None else public_url(value)

    @property
    def public_origin(self) -> str | None:
        """``public_url``'s scheme and host (``https://news.example.org``), as browsers send
        them in an Origin header."""
        if not self.public_url:
            return None
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def base_path(self) -> str:
        """The path prefix of ``public_url`` without its last slash ("" at the root)."""
        return urlsplit(self.public_url).path.rstrip("/") if self.public_url else ""

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        split_listen(value)
        return value

    @field_validator("users")
    @classmethod
    def _users(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for name, stored in value.items():
            if not one_line(name):
                problems.append(f"user {name!r}: a name is text on one line, not empty (no "
                                "sign-in form can send it)")
            elif not stored.startswith("$argon2"):
                # Not quoted: it may be a password written as is.
                problems.append(f"user {name!r}: the value is not an argon2 hash, so no "
                                f"password signs in; put the line `monitor web passwd {name}` "
                                "prints (and if it is a password, change it: it is in the "
                                "file)")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @property
    def auth_enabled(self) -> bool:
        return bool(self.users) or bool(self.trusted_proxy_header)


# A path prefix a browser and a proxy leave as is: no %-escapes, no empty, . or .. segment.
_BASE_PATH = re.compile(r"(?:/(?!\.\.?(?:/|$))[A-Za-z0-9._~-]+)*")


def public_url(value: str) -> str:
    """``web.public_url`` checked and written with a last slash (ValueError otherwise)."""
    value = value.strip()
    parts = urlsplit(value) if value.isascii() and value.isprintable() and " " not in value \
        else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value[:200]!r} is not an http(s) address such as "
                         "https://news.example.org/monitor/ (a non-ASCII host name in its "
                         "xn-- form)")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("the address of the web view has no ?query, #fragment, user or "
                         "password, e.g. https://news.example.org/monitor/")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value[:200]!r}: {exc}") from None
    path = parts.path.rstrip("/")
    if not _BASE_PATH.fullmatch(path):
        raise ValueError(f"{value[:200]!r}: the path is written in letters, digits, - . _ ~ "
                         "and /, without an empty, . or .. segment (e.g. /monitor/)")
    netloc = parts.netloc.lower().rstrip(":")
    if port == {"http": 80, "https": 443}[parts.scheme]:
        netloc = netloc.rsplit(":", 1)[0]  # as a browser's Origin header writes it
    return urlunsplit((parts.scheme, netloc, path + "/", "", ""))


def split_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8080`` for IPv6; port 0: any free port) as (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"listen {value!r}: use host:port, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


class MetricsConfig(Section):
    """Prometheus ``/metrics`` with ``/healthz`` and ``/readyz`` beside it (monitor.daemon.ops).

    ``listen`` (``host:port``) serves them from the daemon on a listener of their own; empty:
    not served there (the web view, when it runs in the daemon, can serve them instead).
    """

    listen: str | None = None

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value:
            split_listen(value)
        return value or None

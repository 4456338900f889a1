"""Who may use the web view, and the headers and checks every response and write gets.

- Without authentication the server listens on loopback only (:func:`listen_problem`) and
  answers only requests addressed to a loopback name (:func:`host_problem`).
- Users sign in with argon2-hashed passwords (``web.users``) and get a session cookie, or an
  authenticating reverse proxy names the user in ``web.trusted_proxy_header``.
- The API takes ``Authorization: Bearer <token>``; feeds of hits take ``?token=`` (feed readers
  cannot sign in), a token derived from a server secret and the feed's path.
- Writes are POST with a CSRF token (double-submit cookie, compared in constant time).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import Response

from monitor.config import WebConfig, split_listen
from monitor.web.paths import cookie_path

CSRF_COOKIE = "nm_csrf"
SESSION_COOKIE = "nm_session"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin: links to outlets carry no referrer (feed tokens, local URLs never leak),
    # and form posts keep their Origin header (no-referrer would make it "null")
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash to put under ``web.users``."""
    return _hasher.hash(password)


def password_fingerprint(stored_hash: str) -> str:
    """What a session keeps of the password it signed in with: a new hash under
    ``web.users`` (a changed password) ends the sessions opened with the old one."""
    return hashlib.sha256(stored_hash.encode()).hexdigest()


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def check_login(users: Mapping[str, str], name: str, password: str) -> bool:
    """True when ``password`` is ``name``'s. An unknown name costs the same argon2 check as
    a known one, so the answer's timing does not tell which user names exist."""
    stored = users.get(name)
    matched = verify_password(stored if stored is not None else _decoy_hash(), password)
    return matched and stored is not None


def is_loopback(host: str) -> bool:
    """True when ``host`` (an address or a name) resolves to loopback addresses only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def listen_problem(web: WebConfig) -> str | None:
    """Why the server must not start as configured (one line), or None."""
    host, _ = split_listen(web.listen)
    if not web.auth_enabled and not is_loopback(host):
        return (f"web.listen {web.listen} is not a loopback address and no authentication is "
                "configured: set web.users or web.trusted_proxy_header, or listen on 127.0.0.1")
    return None


def host_problem(web: WebConfig, host: str | None) -> str | None:
    """Without authentication, why a request naming ``host`` (its Host header) is refused.

    A site whose name an attacker points at 127.0.0.1 (DNS rebinding) is, in the browser,
    the same origin as this server: its scripts could read every page and post forms with
    their CSRF token. Only a loopback name or address, or the ``web.listen`` host, is this
    server for sure."""
    if web.auth_enabled or not host:
        return None
    if host.startswith("["):
        name = host[1:host.find("]")]
    else:  # host or host:port (a port of digits: '127.0.0.1:80@evil.example' is one name)
        before, colon, port = host.rpartition(":")
        name = before if colon and port.isdigit() else host
    name = name.lower().rstrip(".")
    if name in {"localhost", split_listen(web.listen)[0].lower()} or name.endswith(
            ".localhost"):
        return None
    try:
        if ipaddress.ip_address(name).is_loopback:
            return None
    except ValueError:
        pass
    return (f"without authentication this server answers only to a loopback address "
            f"(localhost, 127.0.0.1 or web.listen), not to {host[:100]!r}; set web.users to "
            "reach it by another name")


def feed_token(secret: str, path: str) -> str:
    """The secret token that opens one feed of hits (its path) without signing in."""
    return hmac.new(secret.encode(), path.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_token(request: Request) -> str:
    """The request's CSRF token (the cookie's, or a new one the response will set)."""
    token: str | None = getattr(request.state, "csrf", None)
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        request.state.csrf = token
    return token


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


def same_origin(request: Request, public_origin: str | None = None) -> bool:
    """A browser's Origin header, when sent, must name this server: the Host it was sent to,
    or ``web.public_url``'s origin (a proxy that sends its own Host, such as nginx's default
    ``$proxy_host``, hides the one the browser used)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    if public_origin is not None and origin.lower() == public_origin:
        return True
    return origin.split("://", 1)[-1] == host


def secure_cookies(request: Request, public_origin: str | None) -> bool:
    """Whether cookies get ``Secure``: the request came over https (or a proxy on this host
    said so in X-Forwarded-Proto), or it is addressed to ``web.public_url``'s host and that
    address is https (a proxy that terminates TLS and does not say so). Kept on the request
    by the guard for :func:`finish` and the sign-in."""
    if request.url.scheme == "https":
        return True
    if public_origin is None or not public_origin.startswith("https://"):
        return False
    return request.headers.get("host", "").lower() == public_origin.removeprefix("https://")


def cookie_is_secure(request: Request) -> bool:
    """:func:`secure_cookies`' answer for this request (its scheme's, before the guard ran)."""
    return bool(getattr(request.state, "secure_cookies", request.url.scheme == "https"))


def finish(request: Request, response: Response) -> Response:
    """The security headers, and the CSRF cookie when this request made one."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    token = getattr(request.state, "csrf", None)
    if token is not None and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=cookie_is_secure(request), path=cookie_path(request))
    return response

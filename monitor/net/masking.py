"""URLs in messages, with their secrets masked: the one masking policy for URL text.

An error message, a log line or a page may show *where* something went wrong, never the
password or token that was written in a URL. Two functions, no network and no URL library
beyond the standard one:

* :func:`shown_url` is one URL as it may be shown: its password (``user:****@host``), a
  user name written alone (``****@host``: it is often a token) and the values of
  credential-like query parameters (``?token=****``, ``&api_key=****``...) are replaced by
  ``****``; scheme, host, port and path stay as written.
* :func:`mask_text_urls` does the same to every URL inside any text (an exception's message,
  a log record): passwords and credential query values.

Every message the net stage builds from URL text goes through one of them, and the log
masking of delivery (``monitor.delivery.notify.secrets``) uses :func:`mask_text_urls` too, so
a URL reads the same in an error and in the log.
"""

from __future__ import annotations

import re

MASK = "****"

# Any URL in any text: its password, and the values of credential-like query keys.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:@/?#]*:)([^\s@/?#]+)(@)", re.I)
_QUERY_SECRET = re.compile(
    r"([?&;](?:[\w.-]*(?:token|key|secret|password|passwd|pass|pwd|auth|sig|signature|"
    r"session|sid|credential))=)([^&#\s]+)", re.I)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_AUTHORITY_END = re.compile(r"[/?#]")


def mask_text_urls(text: str) -> str:
    """Mask passwords and credential query values of every URL written in ``text``."""
    return _QUERY_SECRET.sub(rf"\g<1>{MASK}", _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", text))


def shown_url(url: str) -> str:
    """``url`` as it may be shown in a message: ``https://feeduser:****@feeds.example/rss``.

    The user information is everything before the *last* ``@`` of the authority (as
    :func:`urllib.parse.urlsplit` reads it), so a password holding ``@`` is masked whole;
    the rest of the URL is masked as :func:`mask_text_urls` masks text. Never raises.
    """
    match = _SCHEME.match(url)
    if match is None:
        return mask_text_urls(url)
    start = match.end()
    end_match = _AUTHORITY_END.search(url, start)
    end = end_match.start() if end_match else len(url)
    userinfo, at, hostport = url[start:end].rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        userinfo = f"{user}:{MASK}@" if colon else f"{MASK}@"
    return f"{url[:start]}{userinfo}{hostport}{mask_text_urls(url[end:])}"

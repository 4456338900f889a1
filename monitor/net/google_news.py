"""Resolving Google News links in the current format, by asking Google (opt-in).

Google News feeds (``news.google.com/rss/search?q=...``, the topic and publication feeds) link
each item to ``news.google.com/rss/articles/CBMi...``. Since 2024 that id no longer carries
the publisher's URL (:func:`~monitor.net.urls.resolve_aggregator_link` decodes the older ids
offline), and the link does not redirect: it answers with a page that sends a browser on by
script. Fetched as it is, the article has no text, so rules match its headline only.

With ``http.resolve_google_news`` set, :class:`GoogleNewsResolver` does what Google's own
page does, in two requests to ``http.google_news_url`` through the same :class:`Fetcher`
(address policy, deadline, caps, per-host politeness and back-off after a 429; not
robots.txt, which governs crawling a site, not a reader following its feed's link):

1. GET ``/rss/articles/<id>?hl=..&gl=..&ceid=..`` (the locale of the feed's link): the page
   carries a signature and a timestamp for the id (``data-n-a-sg``, ``data-n-a-ts``);
2. POST them with the id to ``/_/DotsSplashUi/data/batchexecute`` (the ``Fbv4je`` call,
   ``garturlreq``): the answer, behind Google's ``)]}'`` guard, holds the publisher URL.

This is Google's internal interface, not a published one: it may change without notice, and
Google's terms allow its feeds for personal reading. So it is off by default, and any answer
this module cannot read is a resolution that failed (logged, and the link fetched as it is),
never an error of the article. Network failures are :class:`~monitor.errors.FetchError` as
for any fetch, and the caller falls back the same way.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from urllib.parse import parse_qs, quote, urlsplit

from monitor.net.fetch import Fetcher
from monitor.net.urls import google_news_article_id, on_google, resolve_aggregator_link

log = logging.getLogger(__name__)

GOOGLE_NEWS_URL = "https://news.google.com"
REMEMBERED = 10_000  # resolutions kept (about 2 MB)
_PARAMS_PATH = "/rss/articles/{id}?hl={hl}&gl={gl}&ceid={ceid}"
_RPC_PATH = "/_/DotsSplashUi/data/batchexecute"
_RPC = "Fbv4je"
_DEFAULT_LOCALE = {"hl": "en-US", "gl": "US", "ceid": "US:en"}
_SIGNATURE = re.compile(r'\bdata-n-a-sg="([^"]{1,4000})"')
_TIMESTAMP = re.compile(r'\bdata-n-a-ts="(\d{1,20})"')
# The request context the page's own script sends with the call (the values it fills with
# "X" are ignored by the server).
_CONTEXT = [["X", "X", ["X", "X"], None, None, 1, 1, "US:en", None, 1, None, None, None, None,
             None, 0, 1], "X", "X", 1, [1, 1, 1], 1, 1, None, 0, 0, None, 0]
_GUARD = ")]}'"


class GoogleNewsResolver:
    """Asks Google for the publisher URL behind a current-format Google News link.

    ``base_url``: where Google News answers (``http.google_news_url``; a test server or a
    mirror). The last :data:`REMEMBERED` resolutions are remembered: several search feeds
    list the same article, and asking Google once per article spares its rate limit.
    Thread-safe (the memory has a lock; the fetcher is thread-safe).
    """

    def __init__(self, fetcher: Fetcher, base_url: str = GOOGLE_NEWS_URL) -> None:
        self._fetcher = fetcher
        self._base = base_url.rstrip("/")
        self._known: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, url: str) -> str | None:
        """The publisher URL behind ``url``, or None: not such a link, or Google's answer did
        not give one (logged). Raises FetchError when a request fails."""
        article = google_news_article_id(url)
        if article is None:
            return None
        with self._lock:
            known = self._known.get(article)
        if known is not None:
            return known
        target = self._ask(url, article)
        if target is not None:
            with self._lock:
                self._known[article] = target
                while len(self._known) > REMEMBERED:
                    self._known.popitem(last=False)
        return target

    def _ask(self, url: str, article: str) -> str | None:
        locale = _locale(url)
        page = self._fetcher.fetch_page(self._base + _PARAMS_PATH.format(
            id=article, **{k: quote(v, safe="") for k, v in locale.items()}), crawl=False)
        text = page.content.decode("utf-8", "replace")
        signature, timestamp = _SIGNATURE.search(text), _TIMESTAMP.search(text)
        if signature is None or timestamp is None:
            log.info("Google News link %s: its page gave no signature to resolve it", url)
            return None
        answer = self._fetcher.post_form(self._base + _RPC_PATH, rpc_request(
            article, int(timestamp.group(1)), signature.group(1), locale["ceid"]))
        target = rpc_target(answer.content.decode("utf-8", "replace"))
        if target is None:
            log.info("Google News link %s: Google's answer named no publisher URL", url)
            return None
        return target


def _locale(url: str) -> dict[str, str]:
    """The link's ``hl``, ``gl`` and ``ceid`` (the feed's language and region), else US
    English: Google answers in that locale."""
    query = parse_qs(urlsplit(url).query)
    return {name: (query.get(name) or [default])[0][:40]
            for name, default in _DEFAULT_LOCALE.items()}


def rpc_request(article: str, timestamp: int, signature: str, ceid: str = "US:en") -> str:
    """The form body of the ``Fbv4je`` call for one article id."""
    context = json.loads(json.dumps(_CONTEXT))
    context[0][7] = ceid
    inner = json.dumps(["garturlreq", context, article, timestamp, signature],
                       separators=(",", ":"))
    envelope = json.dumps([[[_RPC, inner, None, "generic"]]], separators=(",", ":"))
    return "f.req=" + quote(envelope, safe="")


def rpc_target(answer: str) -> str | None:
    """The publisher URL in a ``batchexecute`` answer, or None when it has none this module
    can read. Only an absolute http(s) URL off Google's hosts counts (wrappers inside it,
    such as an AMP cache's, unwrapped)."""
    body = answer.lstrip()
    if body.startswith(_GUARD):
        body = body[len(_GUARD):]
    start = body.find("[")
    if start < 0:
        return None
    try:
        rows, _end = json.JSONDecoder().raw_decode(body, start)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return None
    for row in rows if isinstance(rows, list) else ():
        if not (isinstance(row, list) and len(row) >= 3 and row[0] == "wrb.fr"
                and row[1] == _RPC and isinstance(row[2], str)):
            continue
        try:
            payload = json.loads(row[2])
        except (ValueError, RecursionError):
            continue
        if (isinstance(payload, list) and len(payload) >= 2 and payload[0] == "garturlres"
                and isinstance(payload[1], str)):
            target = resolve_aggregator_link(payload[1].strip())
            try:
                parts = urlsplit(target)
                host = parts.hostname
            except ValueError:  # an unclosed [IPv6 literal, a bad port
                continue
            if parts.scheme in ("http", "https") and host and not on_google(target):
                return target
    return None

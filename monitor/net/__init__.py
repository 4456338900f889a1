"""The net stage: every byte that comes from the network or a configured local path.

Owns the HTTP client (one connection pool per origin, HTTP/1.1 keep-alive), the address policy
that refuses private and loopback targets unless allowed, per-host politeness (concurrency,
Retry-After), conditional requests, size and time caps, charset decoding, URL
canonicalisation, the resolution of Google News links (opt-in), and the masking of URLs in
messages (passwords, credential query values). Used by the daemon to fetch feeds and pages,
and by delivery to check webhook addresses with the same policy.

Must not import: any other stage package (feeds, extract, rules, stories, delivery, daemon,
cli) or the store. It sits just above the store in the layers (``pyproject.toml``).
"""

from __future__ import annotations

from monitor.net.fetch import Fetcher, cache_max_age, check_url, url_problem
from monitor.net.google_news import GoogleNewsResolver
from monitor.net.masking import MASK, mask_text_urls, shown_url
from monitor.net.netpolicy import (
    AddressPolicy,
    Resolver,
    allow_entry_problem,
    default_resolver,
)
from monitor.net.urls import (
    canonical_url,
    google_news_article_id,
    on_google,
    resolve_aggregator_link,
)

__all__ = [
    "MASK",
    "AddressPolicy",
    "Fetcher",
    "GoogleNewsResolver",
    "Resolver",
    "allow_entry_problem",
    "cache_max_age",
    "canonical_url",
    "check_url",
    "default_resolver",
    "google_news_article_id",
    "mask_text_urls",
    "on_google",
    "resolve_aggregator_link",
    "shown_url",
    "url_problem",
]

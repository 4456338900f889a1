"""Feeds of hits: Atom 1.0 (RFC 4287) and JSON Feed 1.1, for all hits and per rule.

Entries carry text only (titles and snippets as text, never HTML), so a hostile article stays
inert in any reader. With authentication on, a feed URL needs its ``?token=`` (see
:func:`monitor.web.security.feed_token`); the rules page shows the URLs with their tokens.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from monitor.delivery import distinct_snippets
from monitor.store import HitView, StoryFilter
from monitor.text import clean_line
from monitor.web.context import web_of
from monitor.web.paths import route_path

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 50
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _XML_INVALID.sub("", value)


def _summary(hit: HitView) -> str:
    """The outlet, the terms, and the passages of the body an alert shows (the entry's
    title is the article's: a title snippet would repeat it)."""
    terms = ", ".join(dict.fromkeys(e.term for e in hit.evidence))
    snippets = " … ".join(distinct_snippets(hit.evidence, clean_line)[:3])
    return f"{hit.source} · matched {terms}\n{snippets}"


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def atom(hits: list[HitView], *, title: str, self_url: str, site: str) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _xml_text(title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = self_url.split("?", 1)[0]
    updated = max((h.matched_at for h in hits), default=datetime(2000, 1, 1, tzinfo=UTC))
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _rfc3339(updated)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=site)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "newsmonitor"
    ET.SubElement(feed, f"{{{ATOM}}}generator").text = "newsmonitor"
    for hit in hits:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title", type="text").text = _xml_text(hit.title)
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{site}hits/{hit.id}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _rfc3339(hit.matched_at)
        if hit.published:
            ET.SubElement(entry, f"{{{ATOM}}}published").text = _rfc3339(hit.published)
        if hit.url.startswith(("http://", "https://")):
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=hit.url)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=f"{site}hits/{hit.id}")
        ET.SubElement(entry, f"{{{ATOM}}}category", term=hit.rule_id,
                      label=_xml_text(hit.rule_name))
        entry_author = ET.SubElement(entry, f"{{{ATOM}}}author")
        ET.SubElement(entry_author, f"{{{ATOM}}}name").text = _xml_text(hit.source)
        ET.SubElement(entry, f"{{{ATOM}}}summary", type="text").text = _xml_text(_summary(hit))
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def json_feed(hits: list[HitView], *, title: str, self_url: str, site: str) -> bytes:
    items = []
    for hit in hits:
        local = f"{site}hits/{hit.id}"
        item: dict[str, object] = {
            "id": local,
            "url": hit.url if hit.url.startswith(("http://", "https://")) else local,
            "external_url": local,
            "title": hit.title,
            "content_text": _summary(hit),
            "summary": ", ".join(dict.fromkeys(e.term for e in hit.evidence)),
            "date_modified": _rfc3339(hit.matched_at),
            "authors": [{"name": hit.source}],
            "tags": [hit.rule_id],
        }
        if hit.published:
            item["date_published"] = _rfc3339(hit.published)
        if hit.language:
            item["language"] = hit.language
        items.append(item)
    body = {"version": "https://jsonfeed.org/version/1.1", "title": title,
            "home_page_url": site, "feed_url": self_url, "items": items}
    return json.dumps(body, ensure_ascii=False).encode()


def _feed(request: Request, rule: str | None, kind: str) -> Response:
    web = web_of(request)
    if rule is not None and web.rules().rule(rule) is None and not web.browse.hits(
            StoryFilter(rule=rule), limit=1)[0]:
        raise HTTPException(404, "no such rule")
    hits, _ = web.browse.hits(StoryFilter(rule=rule), limit=ENTRIES)
    # behind a proxy the request's own address may be the proxy's view of it (http, a
    # loopback host): web.public_url, when set, is the one readers reach
    site = web.config.web.public_url or str(request.base_url)
    query = request.url.query
    self_url = site + route_path(request)[1:] + (f"?{query}" if query else "")
    title = f"newsmonitor: {rule}" if rule else "newsmonitor: all hits"
    if kind == "atom":
        return Response(atom(hits, title=title, self_url=self_url, site=site),
                        media_type="application/atom+xml; charset=utf-8")
    return Response(json_feed(hits, title=title, self_url=self_url, site=site),
                    media_type="application/feed+json; charset=utf-8")


def all_atom(request: Request) -> Response:
    return _feed(request, None, "atom")


def all_json(request: Request) -> Response:
    return _feed(request, None, "json")


def rule_atom(request: Request) -> Response:
    return _feed(request, request.path_params["rule_id"], "atom")


def rule_json(request: Request) -> Response:
    return _feed(request, request.path_params["rule_id"], "json")


ROUTES = [
    Route("/feed.atom", all_atom),
    Route("/feed.json", all_json),
    Route("/rules/{rule_id}/feed.atom", rule_atom),
    Route("/rules/{rule_id}/feed.json", rule_json),
]

"""The variables an alert template sees, built from an :class:`~monitor.models.Alert`.

Every string is cleaned (controls, bidi overrides), mention-defused for the target and left
for the environment to escape on output; ``snippets`` (with the matched words highlighted)
and ``link`` are markup built here from escaped parts and marked safe.

Variables: ``rule``, ``rule_id``, ``channel``, ``notification_id``, ``title``, ``url`` (http(s)
only, else empty), ``url_text``, ``link``, ``source``, ``published``, ``language``, ``byline``
(source | published | language), ``title_link`` (the title, linked in HTML), ``terms``,
``entities``, ``matched_groups`` (what matched, once each: ``Qatar (Doha)``, ``ceasefire``),
``matched``, ``snippets`` (distinct body passages, matched words highlighted),
``evidence`` (term, matched, field, snippet, entity), ``story_size``, ``also_reported_by``,
``also_reported`` ("also reported by 3 outlets: a, b, c"), ``web_url`` (the hit's page in the
web view, where it is marked relevant or not; empty without ``web.public_url``) and
``web_link`` (the same as markup: a link in HTML). Digest templates get ``alerts``
(a list of these), ``count`` and ``more``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

from monitor.delivery.markup import MARKDOWN_TEXT_TARGETS, Format, escape_for, safe_link, sanitize
from monitor.delivery.render.sandbox import MarkdownSafe
from monitor.models import Alert, Evidence
from monitor.text import word_spans

MAX_SNIPPETS = 5
_MAX_NAMES = 5


def effective_format(fmt: Format, target: str | None) -> Format:
    """The format a message is written in for ``target``.

    Chats that draw Markdown and have no HTML (Discord...) always get Markdown: their plain
    text is Markdown anyway, and apprise's HTML-to-text conversion would unescape the feed
    text (``&lt;`` back to ``<``, ``[label](url)`` live again).
    """
    return "markdown" if target in MARKDOWN_TEXT_TARGETS else fmt


def _safe(fmt: Format, markup: str) -> Any:
    """Markup built here from escaped parts, marked so the output stage leaves it alone."""
    if fmt == "html":
        return Markup(markup)  # noqa: S704 - built from escape_for() parts only
    if fmt == "markdown":
        return MarkdownSafe(markup)
    return markup


_HIGHLIGHT = {"text": ("*", "*"), "markdown": ("**", "**"), "html": ("<b>", "</b>")}


def _highlight(snippet: str, evidence: Sequence[Evidence], clean: Callable[[str], str],
               fmt: Format) -> Any:
    """``snippet`` escaped for ``fmt``, each word the evidence matched marked where it stands
    whole (a ``regex:`` condition's match wherever it stands)."""
    start_tag, end_tag = _HIGHLIGHT[fmt]
    parts: list[str] = []
    pos = 0
    for start, end, _word in word_spans(snippet, [clean(e.matched) for e in evidence
                                                  if not e.regex],
                                        [clean(e.matched) for e in evidence if e.regex]):
        parts.append(escape_for(snippet[pos:start], fmt))
        parts.append(start_tag + escape_for(snippet[start:end], fmt) + end_tag)
        pos = end
    parts.append(escape_for(snippet[pos:], fmt))
    return _safe(fmt, "".join(parts))


def _link_for_chat(url: str, target: str | None) -> str:
    """An article URL with '@' encoded, so a chat cannot read a mention inside it."""
    if target in ("email", "console"):
        return url
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    host = host.rpartition("@")[2]  # userinfo in an article link is only ever a trick
    return f"{scheme}://{host}{slash}{path.replace('@', '%40')}"


def _timezone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _published(value: datetime | None, tz_name: str) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    zone = _timezone(tz_name)
    local = aware.astimezone(zone) if zone else aware.astimezone(UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}"


def _also_reported(alert: Alert, target: str | None) -> str:
    names = [sanitize(n, target, single_line=True) for n in alert.also_reported_by]
    others = max(alert.story_size - 1, len(names))
    if others <= 0:
        return ""
    noun = "outlet" if others == 1 else "outlets"
    text = f"Also reported by {others} {noun}"
    if names:
        shown = ", ".join(names[:_MAX_NAMES])
        more = len(names) - _MAX_NAMES
        text += f": {shown}" + (f" and {more} more" if more > 0 else "")
    return text


_SUFFIXES = ("'s", "ing", "es", "ed", "s")


def stem_key(word: str) -> str:
    """A rough stem for merging forms in a list (holds -> hold, talks/talking -> talk)."""
    key = word.casefold()
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and len(key) - len(suffix) >= 3:
            return key[: -len(suffix)]
    return key


def _term_label(term: str) -> str:
    """A query term as a reader would write it: no quotes, no operator syntax."""
    return term.strip().strip('"').lstrip("@")


def matched_groups(alert: Alert, target: str | None) -> list[str]:
    """What matched, once each, in the article's own words: an entity's forms together
    (``Qatar (Katar, Doha)``), a term as written with other forms in brackets
    (``ceasefire (ceasefires)`` only when they do not stem alike); forms that stem alike are
    merged. Words shown once are not shown again for another term or entity that matched
    them too (``perjanjian damai`` is a peace deal and a peace plan)."""
    groups: dict[str, list[str]] = {}  # group key -> [label, other forms...]
    shown: set[str] = set()  # the keys of the words shown, in any group
    for evidence in alert.evidence:
        form = " ".join(evidence.matched.split())
        if evidence.entity:
            key = f"@{evidence.entity.casefold()}"
        else:
            key = " ".join(stem_key(w) for w in _term_label(evidence.term).split())
            if key not in groups and key not in shown:
                groups[key] = [_term_label(evidence.term)]
                shown.add(key)
        form_key = " ".join(stem_key(w) for w in form.split())
        if not form or form_key in shown:
            continue
        shown.add(form_key)
        groups.setdefault(key, []).append(form)
    out = []
    for label, *others in groups.values():
        text = f"{label} ({', '.join(others)})" if others else label
        out.append(sanitize(text, target, single_line=True))
    return out


_LEAD_WORDS = 5
_NEAR = 2 * 60  # evidence closer than this shares a snippet window (rules.evidence context)


def distinct_snippets(evidence: Iterable[Evidence], clean: Callable[[str], str]) -> list[str]:
    """Body snippets that each show something new, cleaned by ``clean``: the title is the
    header already, and a snippet is skipped when it starts like one kept or covers the same
    passage. Alerts and ``monitor hits`` show the same ones."""
    kept: list[tuple[str, int, str]] = []  # (field, start, text)
    for item in evidence:
        text = clean(item.snippet)
        if not text:
            continue
        if item.field == "title":
            continue
        lead = " ".join(text.lstrip("…").split()[:_LEAD_WORDS]).casefold()
        if any(lead == " ".join(t.lstrip("…").split()[:_LEAD_WORDS]).casefold()
               or (f == item.field and abs(start - item.start) < _NEAR)
               for f, start, t in kept):
            continue
        kept.append((item.field, item.start, text))
    return [t for _f, _s, t in kept]


def _link(url: str, fmt: Format) -> Any:
    """A URL made safe by ``safe_link`` as a link in ``fmt``."""
    if fmt == "html":
        return _safe(fmt, f'<a href="{escape_for(url, fmt)}">{escape_for(url, fmt)}</a>')
    if fmt == "markdown":
        return _safe(fmt, f"<{url}>")
    return url


def web_page(alert: Alert, web_url: str | None) -> str | None:
    """The alert's hit in the web view at ``web_url`` (``web.public_url``), or None."""
    if not web_url or alert.hit_id is None:
        return None
    return f"{web_url}hits/{alert.hit_id}"


def alert_context(
    alert: Alert, fmt: Format, target: str | None, *, tz: str = "UTC",
    max_snippets: int = MAX_SNIPPETS, web_url: str | None = None,
) -> dict[str, Any]:
    """The template variables for one alert (documented for operators in the module doc).

    Every string is cleaned and mention-defused; escaping happens when it is output, except
    for ``snippets``, ``link`` and ``web_link``, which are markup built here from escaped
    parts. ``web_url`` is ``web.public_url``, or None when it is not set.
    """

    def clean(text: str | None) -> str:
        return sanitize(text, target, single_line=True)

    url = safe_link(alert.url)
    url = _link_for_chat(url, target) if url else None
    link = _link(url, fmt) if url else _safe(fmt, escape_for(clean(alert.url), fmt))

    snippets = [_highlight(text, alert.evidence, clean, fmt)
                for text in distinct_snippets(alert.evidence, clean)[:max_snippets]]
    if fmt == "html" and url is not None:
        title_link = _safe(fmt, f'<a href="{escape_for(url, fmt)}">'
                                f'{escape_for(clean(alert.title), fmt)}</a>')
    else:
        title_link = _safe(fmt, escape_for(clean(alert.title), fmt))

    page = safe_link(web_page(alert, web_url))

    terms = list(dict.fromkeys(clean(e.term) for e in alert.evidence if e.term))
    entities = list(dict.fromkeys(clean(e.entity) for e in alert.evidence if e.entity))
    return {
        "rule": clean(alert.rule_name),
        "rule_id": clean(alert.rule_id),
        "channel": clean(alert.channel),
        "notification_id": alert.notification_id,
        "title": clean(alert.title),
        "url": url or "",
        "url_text": clean(alert.url),
        "link": link,
        "source": clean(alert.source),
        "published": _published(alert.published, tz),
        "language": clean(alert.language),
        "byline": " | ".join(
            p for p in (clean(alert.source), _published(alert.published, tz),
                        clean(alert.language)) if p),
        "terms": terms,
        "entities": entities,
        "matched_groups": matched_groups(alert, target),
        "title_link": title_link,
        "matched": list(dict.fromkeys(clean(e.matched) for e in alert.evidence)),
        "snippets": snippets,
        "evidence": [
            {"term": clean(e.term), "matched": clean(e.matched), "field": e.field,
             "snippet": clean(e.snippet), "entity": clean(e.entity)}
            for e in alert.evidence
        ],
        "story_size": alert.story_size,
        "also_reported_by": [clean(n) for n in alert.also_reported_by],
        "also_reported": _also_reported(alert, target),
        "web_url": page or "",
        "web_link": _link(page, fmt) if page else "",
    }


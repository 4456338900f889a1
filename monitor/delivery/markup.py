"""Making untrusted feed text safe inside a message: escaping, mentions, length caps.

Everything here is pure string work with no template engine and no notification library, so
the rules can be tested on their own and reused by :mod:`monitor.delivery.render` (which
builds the message) and :mod:`monitor.delivery.notify` (which may have to escape a title it
blends into a body).

Formats are the three apprise ``body_format`` values: ``text``, ``markdown`` (CommonMark) and
``html``. A message is written in one of them and apprise converts it to each service's own
dialect (Slack mrkdwn, Telegram HTML or MarkdownV2...), so feed text is escaped for the format
the message declares, and apprise's converters turn those escapes into the service's own.

Targets are short names for the kind of destination (``slack``, ``telegram``, ``discord``,
``email``, ``json``, ``console``...): they decide mention handling and length limits.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Callable
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import quote, urlsplit

from monitor.text import clean_line, clean_text

Format = Literal["text", "markdown", "html"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "html")

ZWSP = "\u200b"
ELLIPSIS = "…"

# Targets whose readers are people reading mail or a terminal: an '@' there is an address, not
# a ping, so only the mass-mention words are defused.
_ADDRESS_TARGETS = frozenset({"email", "console"})

# Mass mentions understood by Slack, Discord, Mattermost, Rocket.Chat, Teams...
_MASS_MENTION = re.compile(r"@(?=(?:everyone|here|channel|all|room)\b)", re.IGNORECASE)
# Any '@' that a chat service could read as a mention: '@name', '<@123>', '<@&456>', '@!'.
_ANY_MENTION = re.compile(r"@(?=[\w&!#])")

# Per-target limits on title + body, in characters, below the services' hard limits
# (Telegram 4096, Discord 2000, Slack ~4000 per text block). ``None``: no limit of its own.
TARGET_LIMITS: dict[str, int] = {"telegram": 4096, "discord": 2000, "slack": 4000}
DEFAULT_LIMIT = 4000

# Services that draw their plain text as Markdown (Discord masked links, **bold**...): every
# message for them is written (and escaped) as Markdown, or a feed title could carry a live
# [Bank login](http://evil) link.
MARKDOWN_TEXT_TARGETS = frozenset(
    {"discord", "mattermost", "rocketchat", "matrix", "zulip", "msteams", "googlechat"}
)

# Targets whose title goes inside the body (apprise joins it there for Telegram; the notifier
# puts it there, escaped, for the Markdown chats), so it counts against the limit.
BLENDED_TITLE_TARGETS = frozenset({"telegram"}) | MARKDOWN_TEXT_TARGETS

# Targets that receive a TEXT body through an HTML-style entity escape (Slack escapes
# & < >, Telegram converts text to HTML): their wire length can exceed the rendered length.
_ENTITY_EXPANDING_TARGETS = frozenset({"slack", "telegram"})

# CommonMark-significant characters, which are also MarkdownV2's reserved set
# (_*[]()~`>#+-=|{}.!): a backslash before any ASCII punctuation is valid in both, so one
# escape serves apprise's CommonMark input and its conversion to Telegram, Slack and Discord.
# '<' is escaped so CommonMark cannot read raw HTML (<img onerror>) or a Slack token (<!here>);
# '&' only where it would start an entity, as apprise's own text-to-markdown converter does.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>=<])|&(?=#?[0-9A-Za-z]{1,32};)")

_MAX_SUBJECT = 200
# An RFC 2047 encoded word (=?charset?q?...?=): a mail reader decodes it in the Subject, so one
# carrying =0D=0A would put a line break into the header once decoded.
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")
_UNESCAPED_LT = re.compile(r"(?<!\\)<")


def neutralize_mentions(text: str, target: str | None) -> str:
    """Put a zero-width space after each '@' a chat service would turn into a ping.

    For mail and the console only ``@everyone``/``@here``/``@channel``... are defused, so
    addresses stay intact; everywhere else (and for an unknown target) every ``@name``,
    ``<@123>`` and ``<@&role>`` is, because Discord pings users and roles from the body.
    """
    pattern = _MASS_MENTION if target in _ADDRESS_TARGETS else _ANY_MENTION
    return pattern.sub("@" + ZWSP, text)


def sanitize(text: str | None, target: str | None, *, single_line: bool = False) -> str:
    """Feed text ready to place in a message: controls and bidi removed, mentions defused."""
    if not text:
        return ""
    cleaned = clean_line(text) if single_line else clean_text(text)
    return neutralize_mentions(cleaned, target)


def escape_markdown(text: str) -> str:
    """Backslash-escape CommonMark (and Telegram MarkdownV2) syntax in literal text."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def escape_html(text: str) -> str:
    """HTML-escape literal text, quotes included (safe in element content and attributes)."""
    return html.escape(text, quote=True)


def escape_for(text: str, fmt: Format) -> str:
    """Escape literal text for a message written in ``fmt``."""
    if fmt == "html":
        return escape_html(text)
    if fmt == "markdown":
        return escape_markdown(text)
    return text


def safe_link(url: str | None) -> str | None:
    """The URL if it may be shown as a link: http(s) only, with unsafe characters encoded.

    ``javascript:``, ``data:`` and the like return ``None`` and are shown as text only.
    """
    if not url:
        return None
    url = clean_line(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Keep URL syntax, percent-encode the rest (spaces, quotes, <, >, backticks, braces...)
    # so the URL cannot end an attribute, an autolink or a Markdown link early.
    return quote(url, safe="/:?#[]@!$&'()*+,;=%~-._")


def decode_encoded_words(text: str) -> str:
    """``text`` with its RFC 2047 encoded words decoded (what a mail reader would show), and
    any ``=?`` left over defused, so no encoded word reaches a header from feed text."""
    if "=?" not in text:
        return text
    if _ENCODED_WORD.search(text):
        # Undecodable: left as it is, and defused below.
        with contextlib.suppress(HeaderParseError, LookupError, UnicodeError, ValueError):
            text = str(make_header(decode_header(text)))
    return text.replace("=?", "=" + ZWSP + "?")


def subject_line(text: str, target: str | None) -> str:
    """A one-line subject: encoded words decoded, CR/LF folded (no mail header injection, also
    none hidden in an encoded word), mentions defused, capped."""
    line = sanitize(decode_encoded_words(text), target, single_line=True)
    if len(line) > _MAX_SUBJECT:
        line = line[: _MAX_SUBJECT - 1].rstrip() + ELLIPSIS
    return line


def target_limit(target: str | None, max_chars: int) -> int:
    """Characters allowed for title + body on ``target``: the smaller of config and service."""
    own = TARGET_LIMITS.get(target or "")
    return min(max_chars, own) if own else max_chars


def wire_length(title: str, body: str, fmt: Format, target: str | None) -> int:
    """Characters the message will take at the service, as far as the limit is concerned."""
    size = len(body)
    if fmt == "text" and target in _ENTITY_EXPANDING_TARGETS:
        # apprise entity-escapes a TEXT body for these services: '&' becomes '&amp;'.
        size = len(html.escape(body, quote=False))
    if target in BLENDED_TITLE_TARGETS and title:
        size += len(title_heading(title, fmt))
    return size


def title_heading(title: str, fmt: Format) -> str:
    """The title as the first line of a body, escaped, for services that show no title field."""
    if fmt == "html":
        return f"<b>{escape_html(title)}</b><br/>\n"
    if fmt == "markdown":
        return f"**{escape_markdown(title)}**\n\n"
    return f"{title}\n\n"


class _OpenTags(HTMLParser):
    """Tracks which elements are still open at the end of an HTML fragment."""

    _VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area",
                       "base", "embed", "source", "track", "param"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self._VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            # Drop everything opened after it too: the fragment is ours, so it nests properly.
            del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag):]


def _cut(text: str, size: int, fmt: Format) -> str:
    """``text`` cut to at most ``size`` characters without splitting a tag or an escape."""
    cut = text[: max(size, 0)]
    if fmt == "html":
        # A tag or an entity split in half would be shown raw or rejected (Telegram).
        lt, gt = cut.rfind("<"), cut.rfind(">")
        if lt > gt:
            cut = cut[:lt]
        amp = cut.rfind("&")
        if amp != -1 and ";" not in cut[amp:] and len(cut) - amp <= 12:
            cut = cut[:amp]
    elif fmt == "markdown":
        # A trailing lone backslash would escape whatever follows (the ellipsis).
        trailing = len(cut) - len(cut.rstrip("\\"))
        if trailing % 2:
            cut = cut[:-1]
        # An autolink '<https://...' missing its '>' would be shown raw.
        opens = [m.start() for m in _UNESCAPED_LT.finditer(cut)]
        if opens and opens[-1] > cut.rfind(">"):
            cut = cut[: opens[-1]]
    return cut.rstrip()


def _close_html(fragment: str) -> str:
    parser = _OpenTags()
    parser.feed(fragment)
    parser.close()
    return fragment + "".join(f"</{tag}>" for tag in reversed(parser.stack))


Measure = Callable[[str, str], int]


def truncate(title: str, body: str, fmt: Format, target: str | None, limit: int,
             measure: Measure | None = None) -> str:
    """``body`` shortened (with an ellipsis) so the message fits ``limit`` on ``target``.

    ``measure(title, body)`` is the message's length at the service; by default the estimate
    of :func:`wire_length` (the notifier passes the length after the service's own conversion
    and escaping)."""
    def length(text: str) -> int:
        return measure(title, text) if measure else wire_length(title, text, fmt, target)

    if length(body) <= limit:
        return body
    size = len(body)
    while size > 0:
        # Each pass removes at least the measured excess, so this ends after a few passes.
        excess = length(body[:size]) - limit
        size -= max(excess, 0) + 16
        candidate = _cut(body, size, fmt) + ELLIPSIS
        if fmt == "html":
            candidate = _close_html(candidate)
        if length(candidate) <= limit:
            return candidate
    return ELLIPSIS

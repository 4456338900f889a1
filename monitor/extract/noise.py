"""Plain-text clean-up shared by page extraction and the feed fallback.

trafilatura keeps some in-body page furniture that news sites put between paragraphs:
"Baca Juga: <headline>" / "Read also: ..." teasers and photo captions such as
"... di Alaska. (Foto: Reuters)". They are not part of the story, they add words that rules
could match ("Baca Juga: Rusia Gagalkan ..." on an article about something else) and they
make syndicated copies look less alike. This module removes them line by line, so a
paragraph is either kept whole or dropped whole.

It also converts feed HTML (``<content:encoded>``, summaries) to text with the standard
library parser, which never fetches anything and tolerates broken markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# "Related article" teasers. Only whole short lines that *start* with the marker are dropped:
# a long paragraph that merely mentions "see also" is kept.
_TEASER = re.compile(
    r"""^\W{0,3}(?:
        baca\s+(?:juga|pula|selengkapnya|berita\s+lainnya)
      | lihat\s+juga | simak\s+(?:juga|video|berita)\w* | tonton\s+(?:juga|video)
      | artikel\s+terkait | berita\s+terkait | klik\s+di\s?sini
      | read\s+(?:also|more|next) | also\s+read | see\s+also
      | related(?:\s+(?:articles?|stories|news))?
      | more\s+on\s+this\s+story | recommended(?:\s+reading)?
      | lesen\s+sie\s+auch | mehr\s+zum\s+thema | lire\s+aussi | à\s+lire\s+aussi
      | leia\s+(?:também|mais) | lee\s+también | leer\s+más
    )\s*[:：|»>\-–—]""",
    re.IGNORECASE | re.VERBOSE,
)
_TEASER_MAX_CHARS = 300

# Lines that are page chrome on their own (detik's "SCROLL TO CONTINUE WITH CONTENT" etc.).
_CHROME = re.compile(
    r"^\W*(?:advertisement|iklan|scroll\s+to\s+(?:continue|resume)\s+with\s+content"
    r"|x\s*\|\s*close|close\s+x|loading\.*|bagikan|share(?:\s+this)?(?:\s+article)?)\W*$",
    re.IGNORECASE,
)

# Legal and syndication notices that sites print inside the article container: a line that
# starts with a copyright mark, or ends with "All rights reserved". The ending is matched on
# the reversed line, from its start: searching for it forwards tried every offset of every
# line (a third of the clean-up's cost). Reversing keeps the meaning exactly: \b is
# symmetric and ``\W*$`` becomes a leading ``\W*``.
_NOTICE_START = re.compile(
    r"^\W{0,3}(?:copyright|hak\s+cipta)\s*(?:©|\(c\)|\d{4}\b|by\b|dilindungi)"
    r"|^\W{0,3}(?:©|\(c\)\s*\d{4})"
    r"|^this\s+(?:copy|article)\s+is\s+for\s+your\s+personal,?\s+non-commercial\s+use",
    re.IGNORECASE,
)
_NOTICE_END_REVERSED = re.compile(  # "all rights reserved", "hak cipta dilindungi undang-undang"
    r"\W*(?:devreser\s+sthgir\s+lla|gnadnu-gnadnu\s+ignudnilid\s+atpic\s+kah)\b",
    re.IGNORECASE,
)
_NOTICE_MAX_CHARS = 400

# A photo credit closing a line: "(Foto: Reuters)", "(Foto/Antara)", "(Photo: AP)",
# "Foto: ANTARA/Xinhua", "(Dok. Istimewa)", "(Ilustrasi: Freepik)", "Photograph: AP",
# "ANTARA FOTO/Name/abc".
_PHOTO_CREDIT = re.compile(
    r"""(?:
        \(\s*(?:foto|photo|gambar|image|ilustrasi|illustration|dok(?:umentasi)?\.?|pic)
            \s*(?:[:/.]|by\b)\s*[^()]{1,80}\)
      | \b(?:foto|photo|photograph)\s*:\s*[^()]{1,60}
      | (?-i:\bANTARA(?:\s+FOTO)?/)[^\n]{1,80}
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Agency credits alone, "(Antara)" or "(Reuters)", are not in the list: Indonesian articles
# often end their last real paragraph with one.
_CAPTION_MAX_CHARS = 500
_TAG = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")


def _norm(line: str) -> str:
    """Tags out, whitespace runs to one space (``str.split`` splits where ``\\s`` matches),
    case folded."""
    if "<" in line:
        line = _TAG.sub(" ", line)
    return " ".join(line.split()).casefold()


def _is_repeated(line: str) -> bool:
    """A line made of the same text twice, at least four words each: an image's alt text
    followed by its caption. Single-spaced, that is one half, a space, the same half."""
    norm = _norm(line)
    half = len(norm) // 2
    return (len(norm) % 2 == 1 and norm[half] == " " and norm[:half] == norm[half + 1:]
            and norm.count(" ", 0, half) >= 3)


def _is_notice(line: str) -> bool:
    return (_NOTICE_START.match(line) is not None
            or _NOTICE_END_REVERSED.match(line[::-1]) is not None)


def _has_photo_credit(line: str) -> bool:
    # Every form of the pattern needs "(" and ")", or ":", or "/": most lines have none of
    # them and are not searched (a search tries the pattern at every offset).
    return ((("(" in line and ")" in line) or ":" in line or "/" in line)
            and _PHOTO_CREDIT.search(line) is not None)


def is_noise_line(line: str) -> bool:
    """Whether one line of extracted text is page furniture rather than article text."""
    stripped = line.strip()
    if not stripped:
        return False
    if len(stripped) <= _TEASER_MAX_CHARS and (_TEASER.match(stripped) or _CHROME.match(stripped)):
        return True
    if len(stripped) <= _NOTICE_MAX_CHARS and _is_notice(stripped):
        return True
    if len(stripped) <= _CAPTION_MAX_CHARS * 2 and _is_repeated(stripped):
        return True
    return len(stripped) <= _CAPTION_MAX_CHARS and _has_photo_credit(stripped)


def remove_noise(text: str, title: str | None = None) -> str:
    """Drop teaser, chrome and caption lines, and a first line that repeats the title.

    Blank-line runs are collapsed so paragraphs stay separated by one empty line at most.
    """
    lines = text.splitlines()
    # trafilatura includes the page's <h1> when it sits inside the article container; the
    # title is stored separately, and keeping it would count its words twice when matching.
    if title and lines and _norm(lines[0]) == _norm(title):
        lines = lines[1:]
    kept: list[str] = []
    for line in lines:
        if is_noise_line(line):
            continue
        if not line.strip() and (not kept or not kept[-1].strip()):
            continue
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


class _TextCollector(HTMLParser):
    """HTML to text: block elements become line breaks; script, style and the like vanish."""

    _BLOCK = frozenset({
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    })
    _SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg",
                       "math", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment (or plain text, which passes through unchanged).

    Lines are whitespace-normalised and empty lines between blocks are dropped.
    """
    if "<" not in markup and "&" not in markup:
        raw = markup
    else:
        collector = _TextCollector()
        collector.feed(markup)
        collector.close()
        raw = "".join(collector.parts)
    lines = (_SPACE.sub(" ", line).strip() for line in raw.splitlines())
    return "\n".join(line for line in lines if line)

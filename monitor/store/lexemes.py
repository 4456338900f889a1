"""What the PostgreSQL text index stores for an article: its distinct folded tokens, and its
stems in its own language marked ``~`` (see migration 0011).

The store does not tokenize (the tokenizer belongs to the rules); it is handed one
(:attr:`Store.tokenizer`, or the argument of :meth:`TextIndex.catch_up`) and stores what it
returns as a ``tsvector`` built with ``array_to_tsvector`` (no parser, no dictionary, no
positions: each lexeme is exactly one token as the matcher folds it). A token longer than
:data:`MAX_LEXEME` characters is cut there (a ``tsvector`` lexeme has at most 2046 bytes); a
query for it asks for the cut as a prefix. A text whose lexemes would not fit one ``tsvector``
(1 MB) stores :data:`UNINDEXED` alone, and every candidate query also asks for that lexeme,
so such an article is always a candidate. NULL means "not indexed yet": also a candidate.
"""

from __future__ import annotations

from collections.abc import Callable

Tokenizer = Callable[[str], list[str]]
# The rules' stemmer for the index: (title, text, language) -> the article's distinct stems in
# its language's stemmer, [] when the language has none.
ArticleStemmer = Callable[[str, str, str | None], list[str]]

STEM_MARK = "~"  # a stem lexeme on PostgreSQL: "~negosiasi" (no token contains "~")

MAX_LEXEME = 200  # characters: at most 800 bytes of UTF-8, well under a lexeme's 2046
UNINDEXED = " unindexed"  # has a space: no token ever equals it
_MAX_BYTES = 900_000  # the lexemes' bytes plus their entry overhead, under tsvector's 1 MB
SET_LEXEMES = ("UPDATE articles SET text_tokens = array_to_tsvector(CAST(:lexemes AS text[])) "
               "WHERE id = :id")


def index_lexemes(title: str | None, text: str | None, tokenize: Tokenizer,
                  stems: str | None = None) -> list[str]:
    """The distinct lexemes the index keeps for an article with this title and text, and
    its ``stems`` (as stored in ``articles.stems``) marked with :data:`STEM_MARK`."""
    seen = dict.fromkeys(t[:MAX_LEXEME] for t in tokenize(title or ""))
    seen.update(dict.fromkeys(t[:MAX_LEXEME] for t in tokenize(text or "")))
    if stems:
        seen.update(dict.fromkeys(STEM_MARK + s[:MAX_LEXEME] for s in stems.split()))
    seen.pop("", None)
    lexemes = list(seen)
    if sum(len(t.encode()) + 8 for t in lexemes) > _MAX_BYTES:
        return [UNINDEXED]
    return lexemes


def stems_text(title: str, text: str, language: str | None, stem: ArticleStemmer) -> str:
    """What ``articles.stems`` stores: the distinct stems, space-separated ("" for none)."""
    return " ".join(stem(title, text, language))

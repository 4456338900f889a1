"""Rule words no stored article has, where a close spelling is common: likely typos.

``ceasfire`` in a query is valid, loads, passes ``monitor check`` (unless a ``tests:``
example was written with the same slip) and matches nothing, silently. Against the words of
the stored articles it stands out: in none of them, while ``ceasefire`` is in hundreds. A
backtest, the daemon's rule loads and the web's rules page report such words
(:func:`unseen_words`, given the store's vocabulary).

Close means one edit (a letter added, dropped, changed, or two neighbours swapped:
rapidfuzz's optimal string alignment distance), two from :data:`LONG_WORD` letters on, and
neither word the other's beginning: ``envoy``/``envoys``, ``treat``/``treaty`` or
``presiden`` (Indonesian)/``president`` are other words or inflections, not slips. Only a
rule's own words are checked, not entity aliases (an alias in a language the feeds do not
carry is in no article, rightly), prefixes (``negosiasi*``), numbers or short words (under
:data:`MIN_LENGTH` letters: too many close spellings). A word of a ``stem: true`` rule is not
reported when the close spelling has its stem in one of the rule's languages: the rule
matches that inflection already.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz.distance import OSA

from monitor.rules.expr import phrases
from monitor.rules.model import Rule, RuleBook
from monitor.rules.stem import stem_tokens, stemmers_for

MIN_LENGTH = 5  # characters; "gaza" has too many four-letter neighbours to judge
LONG_WORD = 10  # characters from which two edits are still a slip ("governmnet")
ALIKE_ARTICLES = 3  # the close spelling must be in at least this many articles


class Vocabulary(Protocol):
    """The stored articles' words (the store's ``ArticleVocabulary``); None: cannot say."""

    def absent(self, words: Collection[str]) -> set[str] | None:
        """Which of ``words`` no stored article has."""

    def alike(self, starts: Collection[str], least: int) -> dict[str, int] | None:
        """The words beginning with one of ``starts`` that are in ``least`` articles or more,
        with how many."""


@dataclass(frozen=True)
class UnseenWord:
    """A rule's ``word``, in no stored article, and the close spelling ``alike`` that is."""

    rule_id: str
    word: str
    alike: str
    articles: int  # how many stored articles have ``alike``


def rule_words(rule: Rule) -> list[str]:
    """The folded whole words of the rule's terms and phrases (not ``@entities`` or
    prefixes), each once, long enough to judge."""
    words = (token.text for phrase in phrases(rule.expr) for token in phrase.tokens
             if not token.prefix)
    return list(dict.fromkeys(w for w in words if len(w) >= MIN_LENGTH and not w.isdigit()))


def unseen_words(book: RuleBook, vocabulary: Vocabulary) -> list[UnseenWord]:
    """Each rule word in no stored article with a close spelling in at least
    :data:`ALIKE_ARTICLES` of them, by rule; none when the store cannot say. The close
    spellings are only looked for when some word is in no article."""
    words = {rule.id: rule_words(rule) for rule in book.rules}
    wanted = {w for listed in words.values() for w in listed}
    absent = vocabulary.absent(wanted) if wanted else None
    if not absent:
        return []
    found = vocabulary.alike({w[:2] for w in absent}, ALIKE_ARTICLES)
    if not found:
        return []
    common = sorted(found, key=lambda w: -found[w])  # the most common first: it wins a tie
    unseen: list[UnseenWord] = []
    for rule in book.rules:
        for word in words[rule.id]:
            if word not in absent:
                continue
            alike = next((w for w in common if _slip(word, w)), None)
            if alike is not None and not (rule.stem and _same_stem(word, alike, rule)):
                unseen.append(UnseenWord(rule.id, word, alike, found[alike]))
    return unseen


def _slip(word: str, other: str) -> bool:
    """Whether ``word`` reads as a slip of the pen for ``other``."""
    if word[:2] != other[:2] or word.startswith(other) or other.startswith(word):
        return False
    edits = 2 if len(word) >= LONG_WORD else 1
    return OSA.distance(word, other, score_cutoff=edits) <= edits


def _same_stem(word: str, other: str, rule: Rule) -> bool:
    return any(len(set(stem_tokens([word, other], stemmer))) == 1
               for stemmer in stemmers_for(rule.languages))

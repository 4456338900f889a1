"""List the everyday words each alias of a rule folder takes in through its stem or prefix.

Run from the repository root (needs the dev extras: wordfreq)::

    .venv/bin/python scripts/alias_words.py [rules/] [--top 60000]

A stemmed alias matches every word with its stem, a prefix alias every word it begins:
``accord`` matches "according", ``угод*`` Russian ``угодно`` ("any"). In a long article one
such word makes a hit. For each one-word alias of the entities the folder's rules name
(unless it is case-sensitive or ``stem: false``), this prints the words among wordfreq's
``--top`` commonest of each of the rules' languages that it matches and that no alias of
its entity writes, commonest first. Read them for the ones that are not meant, and write
those aliases out (``stem: false`` and the forms you want). The words found so far are kept
by ``tests/rules/test_bundled.py`` (``TRAPS``). Phrases are left out: their other words
keep them apart.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from wordfreq import top_n_list

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from monitor.rules import RuleBook, load_rules, tokenize  # noqa: E402
from monitor.rules.model import alias_stem  # noqa: E402
from monitor.rules.stem import stem_tokens, stemmer_for  # noqa: E402


def taken_in(book: RuleBook, top: int) -> list[tuple[str, str, str, list[str]]]:
    """(entity, alias, language, words) for each alias and language where the alias matches
    common words that no alias of its entity writes."""
    named = book.used_entities()  # groups' members too, in rule-book order
    languages = sorted({lang for rule in book.rules for lang in rule.languages})
    stems_on = any(rule.stem for rule in book.rules)
    out: list[tuple[str, str, str, list[str]]] = []
    for lang in languages:
        words = list(dict.fromkeys(t for w in top_n_list(lang, top) for t in tokenize(w)[:1]))
        stemmer = stemmer_for(lang)
        by_stem: dict[str, list[str]] = defaultdict(list)
        if stemmer is not None:
            for word, stem in zip(words, stem_tokens(words, stemmer), strict=True):
                by_stem[stem].append(word)
        for entity in named:
            written = {alias.tokens for alias in entity.written}
            for alias in entity.written:
                if len(alias.tokens) != 1 or alias.case_sensitive:
                    continue
                token = alias.tokens[0]
                if alias.prefix:
                    found = [w for w in words if w.startswith(token)]
                elif stemmer is not None and alias_stem(alias, entity, rule=stems_on):
                    found = by_stem.get(stem_tokens([token], stemmer)[0], [])
                else:
                    continue
                found = [w for w in found if (w,) not in written]
                if found:
                    out.append((entity.id, alias.text, lang, found))
    return out


def main(argv: list[str] | None = None) -> int:
    """Print each alias with the words it takes in."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rules", type=Path, nargs="?", default=REPO_ROOT / "rules")
    parser.add_argument("--top", type=int, default=60_000,
                        help="how many of each language's commonest words to read")
    args = parser.parse_args(argv)
    for entity, alias, lang, words in taken_in(load_rules(args.rules), args.top):
        print(f"@{entity} {alias!r} [{lang}]: {', '.join(words[:15])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

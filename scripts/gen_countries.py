"""Generate rules/entities/countries.yaml: one entity per country, named in every CLDR locale.

Run by ``make entities`` (needs the dev extras: Babel). The output is plain YAML, sorted and
stable, so a regeneration shows in review as a readable diff.

For each ISO 3166 country (Babel's two-letter territory codes, without the EU, the UN and
the private-use codes) the entity ``country-<code>`` gets the country's name in every Babel
locale (the base languages and their script variants, ``sr_Latn``...; regional variants such
as ``en_GB`` mostly repeat them). Spellings that fold to the same tokens (case, diacritics)
are kept once. Some names are dropped or narrowed, because an alias that is also an everyday
word would match everywhere:

- a name that two countries share (``Kongo``, ``Guinea``) is dropped: it names neither;
- a name of one or two letters or digits is dropped;
- a Latin-script name that is an Indonesian root word (Sastrawi's dictionary) is dropped
  when only minor locales use it (``Kota``, ``Kata``, ``Kita``: Qatar in small African
  languages), and kept case-sensitive when a language of much news (:data:`MAJOR`) does
  (``Katar`` in German, Polish and Turkish);
- a single Latin-script word of at most four letters from other locales is case-sensitive
  (the capital letter is then required: ``Oman`` but not ``oman``);
- a single word in a script with capitals that is an everyday word of a major language the
  country does not speak is case-sensitive (so never stemmed): ``Того`` (Togo; Russian and
  Ukrainian "of that"), ``Cuba`` (Malay "try"), ``Мали`` (Mali; Ukrainian "had"); one that
  only *stems* like an everyday word of such a language is not stemmed (``stem: false``):
  ``Тога`` and ``того`` both stem to ``тог`` in Russian, ``Bermuda`` and ``muda`` ("young")
  to ``muda`` in Indonesian. "Everyday" is judged by wordfreq: the word (or the commonest
  word with its stem) is common (Zipf >= :data:`EVERYDAY_ZIPF`) in such a language and far
  more common there (:data:`EVERYDAY_MARGIN` on the Zipf scale, 30x) than English mentions
  the country by any of its names. The country's own languages (CLDR's official ones) do
  not count: ``Sverige`` is common in Swedish because it is the country.

A Cyrillic name with an apostrophe is also kept as written with the other kind: ``ʼ``
(U+02BC) is a letter, so ``Кот дʼИвоар`` is one token, while ``’`` and ``'`` separate words
(``Кот д’Ивоар`` is two), where the matcher does not take them as one letter (it does inside
a Ukrainian or Belarusian word, before ``я ю є ї е ё і``: ``Об’єднані`` is ``Обʼєднані``, and
the second spelling is then the same name, dropped as such). (``ё`` needs no
second spelling: the matcher takes it as ``е``, which most Russian texts write.) A name with a
zero-width non-joiner (U+200C, inside Persian
words: ``سرزمین‌های``) is also kept without it: the tokenizer cuts a word there, and texts
often leave it out (``سرزمینهای``). (An Arabic name with a hamza on its alef needs no
second spelling: the matcher takes ``أ``, ``إ`` and ``آ`` as the bare alef many texts write.)
An Arabic locale's name is also kept with
the letters Arabic glues on, ``و`` "and", ``ل`` "to, for" and ``ب`` "in, with" (``وقطر``,
``لقطر``, ``بقطر``; ``ل`` before the article makes ``لل``: ``للإمارات``): aliases match as
written, and Snowball's Arabic stemmer never takes ``ل`` off and often keeps the others, so
"talks between Russia and Qatar" (``روسيا وقطر``) would not name Qatar.

Hand-written aliases (demonyms, capitals, ``AS`` for Amerika Serikat) stay in the other
entity files (``places.yaml``).
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from babel import Locale
from babel.languages import get_official_languages
from babel.localedata import locale_identifiers
from wordfreq import available_languages, top_n_list, zipf_frequency

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.rules import tokenize  # noqa: E402
from monitor.rules.stem import stem_tokens, stemmer_for  # noqa: E402

SKIP_CODES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
# Languages of much news: their names stay (case-sensitive) even when an everyday word.
MAJOR = {"id", "ms", "en", "ru", "uk", "ar", "de", "fr", "es", "pt", "it", "nl", "pl", "tr",
         "sv", "da", "no", "nb", "fi", "cs", "hu", "ro", "he", "fa", "hi", "zh", "ja", "ko"}
OUT = REPO / "rules" / "entities" / "countries.yaml"
EVERYDAY_ZIPF = 4.5  # 30 per million words
EVERYDAY_MARGIN = 1.5


def _locales() -> list[str]:
    """Base languages and script variants (sr_Latn), not regional variants (en_GB)."""
    out = []
    for ident in sorted(locale_identifiers()):
        parts = ident.split("_")
        if len(parts) == 1 or (len(parts) == 2 and len(parts[1]) == 4):
            out.append(ident)
    return out


_APOSTROPHE = re.compile(r"(?<=\w)[’'](?=\w)")
_ZWNJ = "\u200c"


def _spellings(name: str) -> list[str]:
    """The name; one with a zero-width non-joiner also without it; a Cyrillic one with its
    apostrophes written the other way (see above)."""
    if _ZWNJ in name:
        return [name, name.replace(_ZWNJ, "")]
    if not any("CYRILLIC" in unicodedata.name(ch, "") for ch in name if ch.isalpha()):
        return [name]
    if "\u02bc" in name:
        names = [name, name.replace("\u02bc", "\u2019")]
    else:
        other = _APOSTROPHE.sub("\u02bc", name)
        names = [name] if other == name else [name, other]
    return names


_ARTICLE = "\u0627\u0644"  # ال


def _with_proclitics(name: str) -> list[str]:
    """An Arabic name, then with و, ب and ل glued on (ل before the article makes لل)."""
    to = "\u0644" + name[1:] if name.startswith(_ARTICLE) else "\u0644" + name
    return [name, "\u0648" + name, "\u0628" + name, to]


def _latin(text: str) -> bool:
    return all("LATIN" in unicodedata.name(ch, "") for ch in text if ch.isalpha())


def _indonesian_words() -> set[str]:
    from Sastrawi.Stemmer import StemmerFactory as factory  # the root-word dictionary

    path = Path(factory.__file__).parent / "data" / "kata-dasar.txt"
    return set(path.read_text(encoding="utf-8").split())


@dataclass(frozen=True)
class Name:
    """One alias of a country as the file writes it."""

    text: str
    case_sensitive: bool = False
    stem: bool = True  # False: written ``stem: false``


def _everyday(key: str, code: str, country_keys: Iterable[str]) -> Name | None:
    """How to narrow a one-word name that is an everyday word of a major language, or stems
    like one there (see above): None when it is neither."""
    spoken = set(get_official_languages(code, de_facto=True))
    word = stem = 0.0
    for lang in _FREQUENCY_LANGUAGES:
        if lang in spoken:
            continue
        word = max(word, zipf_frequency(key, lang))
        stemmer = stemmer_for(lang)
        if stemmer is not None:
            stem = max(stem, _everyday_stems(lang).get(stem_tokens([key], stemmer)[0], 0.0))
    bar = max(EVERYDAY_ZIPF, max(zipf_frequency(k, "en") for k in country_keys)
              + EVERYDAY_MARGIN)
    if word >= bar:
        return Name("", case_sensitive=True)
    return Name("", stem=False) if stem >= bar else None


@functools.cache
def _everyday_stems(lang: str) -> dict[str, float]:
    """Stem -> the Zipf frequency of the commonest everyday word of ``lang`` with that stem."""
    stemmer = stemmer_for(lang)
    assert stemmer is not None
    words: list[tuple[str, float]] = []
    for word in top_n_list(lang, 50_000):  # commonest first
        frequency = zipf_frequency(word, lang)
        if frequency < EVERYDAY_ZIPF:
            break
        words += [(token, frequency) for token in tokenize(word)]
    out: dict[str, float] = {}
    for stem, (_, frequency) in zip(stem_tokens([w for w, _ in words], stemmer), words,
                                    strict=True):
        out[stem] = max(out.get(stem, 0.0), frequency)
    return out


# Without Chinese, Japanese and Korean: wordfreq needs extra tokenizers for them, and their
# scripts have no capitals to require.
_FREQUENCY_LANGUAGES = sorted((MAJOR - {"zh", "ja", "ko"}) & set(available_languages()))


def _cased(text: str) -> bool:
    return any(ch.lower() != ch.upper() for ch in text)


def collect() -> dict[str, dict[str, Name]]:
    """code -> folded key -> the name to write."""
    # code -> key -> (name, is it used by a major language?)
    names: dict[str, dict[str, tuple[str, bool]]] = defaultdict(dict)
    owners: dict[str, set[str]] = defaultdict(set)
    for ident in _locales():
        try:
            locale = Locale.parse(ident)
        except (ValueError, LookupError):
            continue
        language = locale.language
        for code, written in sorted(locale.territories.items()):
            if len(code) != 2 or not code.isalpha() or code in SKIP_CODES:
                continue
            spellings = _spellings(written)
            if language == "ar":
                spellings = [form for name in spellings for form in _with_proclitics(name)]
            for name in spellings:
                key = " ".join(tokenize(name))
                if not key:
                    continue
                owners[key].add(code)
                current = names[code].get(key)
                # Prefer the spelling of a major language, then the first seen.
                if current is None or (language in MAJOR and not current[1]):
                    names[code][key] = (name, language in MAJOR)
    indonesian = _indonesian_words()
    out: dict[str, dict[str, Name]] = {}
    for code in sorted(names):
        kept: dict[str, Name] = {}
        for key, (name, major) in sorted(names[code].items()):
            if len(owners[key]) > 1 or len(key.replace(" ", "")) <= 2:
                continue
            single_latin = " " not in key and _latin(name)
            case_sensitive = False
            if single_latin and key in indonesian:
                if not major:
                    continue
                case_sensitive = True
            elif single_latin and len(key) <= 4 and not major:
                case_sensitive = True
            kept[key] = Name(name, case_sensitive)
        for key, kept_name in kept.items():
            if not kept_name.case_sensitive and " " not in key and _cased(kept_name.text):
                narrowed = _everyday(key, code, kept)
                if narrowed is not None:
                    kept[key] = replace(narrowed, text=kept_name.text)
        out[code] = kept
    return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(countries: dict[str, dict[str, Name]]) -> str:
    english = Locale.parse("en").territories
    lines = [
        "# Generated by `make entities` (scripts/gen_countries.py) from CLDR via Babel: do not",
        "# edit; hand-written aliases (demonyms, capitals, AS) go in places.yaml.",
        "# One entity per country: @country-<ISO code>, its name in every CLDR locale.",
        "entities:",
    ]
    for code, names in countries.items():
        if not names:
            continue
        lines.append(f"  - id: country-{code.lower()}    # {english.get(code, code)}")
        lines.append("    type: country")
        lines.append("    aliases:")
        for name in sorted(names.values(), key=lambda n: n.text):
            if name.case_sensitive:
                lines.append(f"      - {{text: {_quote(name.text)}, case_sensitive: true}}")
            elif not name.stem:
                lines.append(f"      - {{text: {_quote(name.text)}, stem: false}}")
            else:
                lines.append(f"      - {_quote(name.text)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    text = render(collect())
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {text.count('- id: ')} countries, "
          f"{text.count(chr(10)) - 4 - 3 * text.count('- id: ')} aliases")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Language codes as feeds, rules, the configuration and the command line write them:
normalised to a primary subtag (:func:`normalize_language`) and checked
(:func:`language_problem`). Kept apart from detection (:mod:`monitor.language`), which loads
numpy and a model: reading a code costs nothing at start-up.
"""

from __future__ import annotations

import re

# ISO 639-1, and CLDR's "sh": what a two-letter language code can be. Three-letter codes
# (ISO 639-2 and 639-3, thousands of them) are taken as written.
ISO_639_1 = frozenset((
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be",
    "bg", "bh", "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs",
    "cu", "cv", "cy", "da", "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu",
    "fa", "ff", "fi", "fj", "fo", "fr", "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha",
    "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia", "id", "ie", "ig", "ii", "ik",
    "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn",
    "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo", "lt",
    "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os",
    "pa", "pi", "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd",
    "se", "sg", "sh", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su",
    "sv", "sw", "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt",
    "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo", "wa", "wo", "xh", "yi", "yo",
    "za", "zh", "zu",
))
# Codes withdrawn from ISO 639-1 that old software still writes (Java's Locale wrote "in" for
# Indonesian until Java 17): read as today's, or a feed declaring "in" would match no `id` rule.
_WITHDRAWN = {"in": "id", "iw": "he", "ji": "yi", "jw": "jv", "mo": "ro"}
# A language tag: its primary subtag, then anything after a separator ("en-US", "zh_Hant_TW",
# and what feeds write: "en_US.UTF-8").
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_].*)?$")


def normalize_language(code: object) -> str | None:
    """The primary subtag in lower case: ``en-US``, ``EN``, ``en_gb`` -> ``en``; a withdrawn
    code as today's (``in`` -> ``id``); empty or not a language tag (``english``) -> None."""
    if not isinstance(code, str):
        return None
    match = _TAG.match(code.strip())
    if match is None:
        return None
    primary = match.group(1).lower()
    return _WITHDRAWN.get(primary, primary)


def language_problem(code: str) -> str | None:
    """Why ``code`` cannot name a language, in words for the user, or None when it can: not a
    tag at all (``english``), or two letters that are no ISO 639-1 code (``zz``)."""
    primary = normalize_language(code)
    if primary is None:
        return f"{code!r} is not a language code such as id or en"
    if len(primary) == 2 and primary not in ISO_639_1:
        return f"{code!r} is not an ISO 639-1 language code (id, en, ru, uk, ar...)"
    return None

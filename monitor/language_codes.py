"""Language codes as feeds, rules, the configuration and the command line write them:
normalised to a primary subtag (:func:`normalize_language`) and checked
(:func:`language_problem`). Kept apart from detection (:mod:`monitor.language`), which loads
numpy and a model: reading a code costs nothing at start-up.
"""

from __future__ import annotations

import re

# ISO 639-1, and CLDR's "sh": what a two-letter language code can be. Three-letter codes
# (ISO 639-2 and 639-3, thousands of them) are taken as written, unless the language has a
# two-letter code (THREE_LETTER).
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
# Three-letter codes of languages that have a two-letter one (ISO 639-2/T and /B, and 639-3
# individual languages: rus, ukr, ara, ind, fre, ger, chi, cmn, zsm...), as CLDR aliases them
# (a test keeps this equal to Babel's copy of CLDR): a feed or rule writing ``rus`` means
# ``ru``, and only one of the two can be what the detector and the stemmers answer to.
THREE_LETTER: dict[str, str] = {
    "aar": "aa", "abk": "ab", "adp": "dz", "afr": "af", "aka": "ak", "alb": "sq", "als": "sq",
    "amh": "am", "ara": "ar", "arb": "ar", "arg": "an", "arm": "hy", "asm": "as", "ava": "av",
    "ave": "ae", "aym": "ay", "ayr": "ay", "aze": "az", "azj": "az", "bak": "ba", "bam": "bm",
    "baq": "eu", "bel": "be", "ben": "bn", "bis": "bi", "bod": "bo", "bos": "bs", "bre": "br",
    "bul": "bg", "bur": "my", "cat": "ca", "ces": "cs", "cha": "ch", "che": "ce", "chi": "zh",
    "chu": "cu", "chv": "cv", "cls": "sa", "cmn": "zh", "cnr": "sr", "cor": "kw", "cos": "co",
    "cre": "cr", "cwd": "cr", "cym": "cy", "cze": "cs", "dan": "da", "deu": "de", "div": "dv",
    "drh": "mn", "drw": "fa", "dut": "nl", "dzo": "dz", "ekk": "et", "ell": "el", "eng": "en",
    "epo": "eo", "esk": "ik", "est": "et", "eus": "eu", "ewe": "ee", "fao": "fo", "fas": "fa",
    "fij": "fj", "fin": "fi", "fra": "fr", "fre": "fr", "fry": "fy", "fuc": "ff", "ful": "ff",
    "gaz": "om", "geo": "ka", "ger": "de", "gla": "gd", "gle": "ga", "glg": "gl", "glv": "gv",
    "gre": "el", "grn": "gn", "gug": "gn", "guj": "gu", "hat": "ht", "hau": "ha", "hbs": "sr",
    "heb": "he", "her": "hz", "hin": "hi", "hmo": "ho", "hrv": "hr", "hun": "hu", "hye": "hy",
    "ibo": "ig", "ice": "is", "ido": "io", "iii": "ii", "ike": "iu", "iku": "iu", "ile": "ie",
    "ina": "ia", "ind": "id", "ipk": "ik", "isl": "is", "ita": "it", "jav": "jv", "jpn": "ja",
    "kal": "kl", "kan": "kn", "kas": "ks", "kat": "ka", "kau": "kr", "kaz": "kk", "khk": "mn",
    "khm": "km", "kik": "ki", "kin": "rw", "kir": "ky", "kmr": "ku", "knc": "kr", "kng": "kg",
    "kom": "kv", "kon": "kg", "kor": "ko", "kpv": "kv", "kua": "kj", "kur": "ku", "lao": "lo",
    "lat": "la", "lav": "lv", "lim": "li", "lin": "ln", "lit": "lt", "ltz": "lb", "lub": "lu",
    "lug": "lg", "lvs": "lv", "mac": "mk", "mah": "mh", "mal": "ml", "mao": "mi", "mar": "mr",
    "may": "ms", "mkd": "mk", "mlg": "mg", "mlt": "mt", "mol": "ro", "mon": "mn", "mri": "mi",
    "msa": "ms", "mya": "my", "nau": "na", "nav": "nv", "nbl": "nr", "nde": "nd", "ndo": "ng",
    "nep": "ne", "nld": "nl", "nno": "nn", "nob": "nb", "nor": "no", "npi": "ne", "nya": "ny",
    "oci": "oc", "ojg": "oj", "oji": "oj", "ori": "or", "orm": "om", "ory": "or", "oss": "os",
    "pan": "pa", "pbu": "ps", "per": "fa", "pes": "fa", "pli": "pi", "plt": "mg", "pol": "pl",
    "por": "pt", "prp": "gu", "prs": "fa", "pus": "ps", "que": "qu", "quz": "qu", "roh": "rm",
    "ron": "ro", "rum": "ro", "run": "rn", "rus": "ru", "sag": "sg", "san": "sa", "scc": "sr",
    "scr": "hr", "sin": "si", "slk": "sk", "slo": "sk", "slv": "sl", "sme": "se", "smo": "sm",
    "sna": "sn", "snd": "sd", "som": "so", "sot": "st", "spa": "es", "sqi": "sq", "src": "sc",
    "srd": "sc", "srp": "sr", "ssw": "ss", "sun": "su", "swa": "sw", "swc": "sw", "swe": "sv",
    "swh": "sw", "tah": "ty", "tam": "ta", "tat": "tt", "tel": "te", "tgk": "tg", "tha": "th",
    "tib": "bo", "tir": "ti", "tnf": "fa", "ton": "to", "tsn": "tn", "tso": "ts", "tuk": "tk",
    "tur": "tr", "twi": "ak", "uig": "ug", "ukr": "uk", "urd": "ur", "uzb": "uz", "uzn": "uz",
    "ven": "ve", "vie": "vi", "vol": "vo", "wel": "cy", "wln": "wa", "wol": "wo", "xho": "xh",
    "ydd": "yi", "yid": "yi", "yor": "yo", "zha": "za", "zho": "zh", "zsm": "ms", "zul": "zu",
    "zyb": "za",
}
# Codes withdrawn from ISO 639-1 that old software still writes (Java's Locale wrote "in" for
# Indonesian until Java 17): read as today's, or a feed declaring "in" would match no `id` rule.
_WITHDRAWN = {"in": "id", "iw": "he", "ji": "yi", "jw": "jv", "mo": "ro"}
# A language tag: its primary subtag, then anything after a separator ("en-US", "zh_Hant_TW",
# and what feeds write: "en_US.UTF-8").
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_].*)?$")


def normalize_language(code: object) -> str | None:
    """The primary subtag in lower case: ``en-US``, ``EN``, ``en_gb`` -> ``en``; a withdrawn
    code as today's (``in`` -> ``id``), a three-letter one as its two-letter one (``rus`` ->
    ``ru``), a country code a page writes for its language as that language (``ua`` ->
    ``uk``); empty, not a language tag (``english``) or two letters that are no language
    (``zz``) -> None."""
    if not isinstance(code, str):
        return None
    match = _TAG.match(code.strip())
    if match is None:
        return None
    primary = match.group(1).lower()
    if len(primary) == 3:
        return THREE_LETTER.get(primary, primary)
    primary = _WITHDRAWN.get(primary) or _READ_AS_LANGUAGE.get(primary, primary)
    # Two letters that name no language (`zz`, Kazakhstan's `kz`) say nothing: the article's
    # language is then detected, not taken as one that no rule or stemmer knows.
    return primary if primary in ISO_639_1 else None


def language_problem(code: str) -> str | None:
    """Why ``code`` cannot name a language, in words for the user, or None when it can: not a
    tag at all (``english``), or two letters that are no ISO 639-1 code (``zz``)."""
    match = _TAG.match(code.strip()) if isinstance(code, str) else None
    if match is None:
        named = _NAMED.get(" ".join(code.split()).casefold()) if isinstance(code, str) else None
        if named is not None:  # a language's name, the commonest slip
            return f"{code!r} is a language's name, not a language code: write {named}"
        return f"{code!r} is not a language code such as id or en"
    primary = match.group(1).lower()
    country = _COUNTRY_CODES.get(primary)
    if country is not None:  # what you write is checked, not read generously (see below)
        return (f"{code!r} is the country code of {country[1]}, not a language code; "
                f"for {country[2]} write {country[0]}")
    if len(primary) == 2 and _WITHDRAWN.get(primary, primary) not in ISO_639_1:
        return f"{code!r} is not an ISO 639-1 language code (id, en, ru, uk, ar...)"
    return None


# Languages' names written where the code is meant (`languages: [indonesian]`), in English and
# as the language writes its own name: the news languages and those with a stemmer.
_NAMED: dict[str, str] = {
    **{name: code for code, names in {
        "ar": "arabic العربية عربي", "bn": "bengali bangla বাংলা", "cs": "czech čeština",
        "da": "danish dansk", "de": "german deutsch", "el": "greek ελληνικά",
        "en": "english", "es": "spanish español castellano", "et": "estonian eesti",
        "eu": "basque euskara", "fa": "persian farsi فارسی", "fi": "finnish suomi",
        "fr": "french français", "ga": "irish gaeilge", "he": "hebrew עברית",
        "hi": "hindi हिन्दी हिंदी", "hu": "hungarian magyar", "hy": "armenian հայերեն",
        "id": "indonesian indonesia", "it": "italian italiano", "ja": "japanese 日本語",
        "ko": "korean 한국어", "lt": "lithuanian lietuvių", "ms": "malay melayu",
        "ne": "nepali नेपाली", "nl": "dutch nederlands", "no": "norwegian norsk",
        "pl": "polish polski", "pt": "portuguese português", "ro": "romanian română",
        "ru": "russian русский", "sr": "serbian српски srpski", "sv": "swedish svenska",
        "ta": "tamil தமிழ்", "th": "thai ไทย", "tr": "turkish türkçe",
        "uk": "ukrainian українська", "ur": "urdu اردو", "vi": "vietnamese",
        "zh": "chinese 中文", "be": "belarusian беларуская", "bg": "bulgarian български",
        "ca": "catalan català", "hr": "croatian hrvatski", "ka": "georgian ქართული",
        "kk": "kazakh қазақша", "sk": "slovak slovenčina", "sl": "slovenian slovenščina",
        "sw": "swahili kiswahili", "tl": "tagalog", "yi": "yiddish ייִדיש",
    }.items() for name in names.split()},
    "bahasa indonesia": "id", "tiếng việt": "vi", "bahasa melayu": "ms", "қазақ тілі": "kk",
}

# Country codes (ISO 3166) written where a language code is meant, and no language's own
# code: the language code, the country, the language. `monitor check` refuses them in the
# configuration and rules, with the code to write.
_COUNTRY_CODES: dict[str, tuple[str, str, str]] = {
    "ua": ("uk", "Ukraine", "Ukrainian"), "jp": ("ja", "Japan", "Japanese"),
    "cn": ("zh", "China", "Chinese"), "dk": ("da", "Denmark", "Danish"),
    "gr": ("el", "Greece", "Greek"), "cz": ("cs", "Czechia", "Czech"),
    "vn": ("vi", "Vietnam", "Vietnamese"), "il": ("he", "Israel", "Hebrew"),
    "ir": ("fa", "Iran", "Persian"), "by": ("be", "Belarus", "Belarusian"),
    "rs": ("sr", "Serbia", "Serbian"), "al": ("sq", "Albania", "Albanian"),
    "kz": ("kk", "Kazakhstan", "Kazakh"), "ge": ("ka", "Georgia", "Georgian"),
    "us": ("en", "the United States", "English"), "gb": ("en", "the United Kingdom", "English"),
    "at": ("de", "Austria", "German"), "mx": ("es", "Mexico", "Spanish"),
    "pk": ("ur", "Pakistan", "Urdu"), "eg": ("ar", "Egypt", "Arabic"),
    "qa": ("ar", "Qatar", "Arabic"), "ye": ("ar", "Yemen", "Arabic"),
}
# Those a web page or feed declares (`<html lang="ua">`, common on Ukrainian sites) read as
# their country's language, where it has one language of its own: read as written, "ua"
# passed no `languages: [uk]` filter and was stemmed in no language, a silent miss. A
# country where another language is as common (by, kz, pk, eg, qa, ye: Russian, English or
# French beside it) stays unknown, and the article's language is detected.
_READ_AS_LANGUAGE: dict[str, str] = {
    country: language for country, (language, _name, _language) in _COUNTRY_CODES.items()
    if country not in ("by", "kz", "pk", "eg", "qa", "ye")}

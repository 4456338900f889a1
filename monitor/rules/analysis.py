"""An article text's analysis for the matcher, computed where the text is extracted.

The daemon hands :func:`analyze_text` to the extraction workers (as it hands them the story
signer), which run it on each text they extract: the text's folded token stream and, in the
article's declared language, its tokens' stems. The daemon's process then matches from those
strings (``Matcher.match_with_stems(doc, analysis)``) instead of tokenizing and stemming the
text again. Its one interpreter lock serves every feed and page thread of a cycle, so the
fewer CPU-milliseconds an article costs there, the sooner every thread moves on; the workers
run in parallel with it. The matcher does its own work wherever the analysis does not fit
the document (stems in another language), so an analysis can cost speed, never a match.

Languages are not detected here: the model would be loaded into every worker. An article
without a declared language gets its token stream only; the daemon detects its language and
the matcher stems it.
"""

from __future__ import annotations

from monitor.language_codes import normalize_language
from monitor.models import TextAnalysis
from monitor.rules.stem import cached_stems, stemmer_for
from monitor.rules.unicode61 import split_tokens, stream_of

UNKNOWN_STEMMER = "?"  # TextAnalysis.stemmer when the language is to be detected


def analyze_text(text: str, language: str | None) -> TextAnalysis:
    """The analysis of an article's ``text`` (its body) for an article whose declared
    language is ``language`` (as written: the entry's or feed's, else the page's; None when
    none is). Pure: the extraction workers call it, and tests compare its use with the
    matcher's own work."""
    code = normalize_language(language) if language else None
    stemmer = stemmer_for(code) if code is not None else UNKNOWN_STEMMER
    stream = stream_of(split_tokens(text))
    if stemmer is None or stemmer == UNKNOWN_STEMMER or not stream:
        return TextAnalysis(stemmer, stream)
    stems = cached_stems(stream.split(" "), stemmer)
    return TextAnalysis(stemmer, stream, " ".join(stems), " ".join(dict.fromkeys(stems)))

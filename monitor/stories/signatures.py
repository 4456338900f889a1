"""Near-duplicate grouping: syndicated copies of one article become one story.

News is copied between outlets with a new header, a "Dikutip dari detiknews" credit, a
different boilerplate footer and a few edited sentences. Exact hashes miss those copies;
MinHash over word shingles (:mod:`monitor.stories.minhash`) estimates the Jaccard similarity
of the two texts' shingle sets cheaply, and locality-sensitive hashing (LSH) finds the
candidates among thousands of recent articles without comparing against each one.

- :func:`text_signature` turns a text into a :class:`StorySignature`: 128 MinHash values over
  its word 3-shingles, 64 over the shingles of its lead (the first :data:`LEAD_SHINGLES`), and
  the number of distinct shingles. It serialises to 783 bytes for the database (format
  ``MH4``, one 4-byte word per value, since the affine32 values are 32-bit). ``MH3`` (the 128
  values alone) and ``MH2`` (the same in 8-byte slots) are still read, so signatures stored
  before stay comparable; they are not rewritten, and cannot tell a copy cut short. ``MH1``
  (SHA-1 shingle hashes) is no longer read.
- :func:`exact_signature` signs a text too short for shingles (under 200 characters, a feed's
  teaser) with its title: a set of one element, so it groups with exact copies only.
- :meth:`StorySignature.band_keys` and :meth:`StorySignature.lead_band_keys` cut a signature
  into LSH bands and name each with a 64-bit key that is the same in every process and
  Python version (BLAKE2b of the band number and its values), so the keys can be stored and
  shared between daemons.
- :func:`same_story` decides whether two signatures are one story: the texts' estimated
  Jaccard similarity reaches the threshold, or one is the other cut short (:func:`cut_copy`).
- :func:`title_keys` keys a headline (with and without an outlet suffix), for an item with no
  text to sign (an aggregator's title-only entry): the registry joins it by its headline.

A copy cut short (an outlet's paywall ends it after two paragraphs; an aggregator shows the
lead) shares few of the full text's shingles: its Jaccard similarity is about its share of
the text, 0.2 for a fifth. What it shares is the start, and nearly all of its own shingles.
So the shorter text is taken as a cut of the longer when their leads' MinHash values show the
shorter lead contained in the other (:data:`LEAD_CONTAINMENT`), and the whole shorter text
contained in the longer (:data:`CUT_CONTAINMENT`, estimated from the Jaccard similarity and
the two shingle counts), unless it is hardly longer than its lead (:data:`LEAD_DECIDES`: a
teaser, two paragraphs before a paywall), where the lead is most of it and the few values it
shares with a long text are too few to estimate anything. Two different stories that open
with the same sentences (a template, a standing introduction) differ after them, which the
second test sees; a text of under about 100 words that opens as another does is taken as its
cut. Measured on the 181 benchmark articles cut after 35 to 200 words behind a dateline the
whole lacks: 98.6-100 % found; a benchmark article's first 50 or 80 words followed by another
article's text (the shared opening under 40 % of it) joined the first 3 times in 892.

Calibration (word 3-shingles, 128 permutations): a syndicated copy of seed article 000 with
a new header, footer and three rewritten sentences scores about 0.77; its first paragraphs
cut from the original join it; the two seed articles (different stories on related
diplomacy) about 0.0; no pair of the 181 benchmark articles reaches 0.5 or passes as a cut.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime, timedelta
from hashlib import blake2b

from monitor.stories.minhash import (
    MAX_VALUE,
    SEED,
    SHINGLE_WORDS,
    VALUE,
    key_hash,
    minhash,
    shingle_hashes,
    words,
)

NUM_PERM = 128
DEFAULT_THRESHOLD = 0.5
MIN_STORY_TEXT_CHARS = 200  # shorter texts (bare summaries): exact copies only (exact_signature)
DEFAULT_WINDOW = timedelta(days=7)
# The lead: about the first 50 words, two sentences of news prose. A teaser of 30 words
# (the shortest text signed by shingles) still shares most of it.
LEAD_SHINGLES = 48
LEAD_PERM = 64
LEAD_BANDS, LEAD_ROWS = 14, 4  # banding(0.5, 64): a lead two thirds shared is found 90 % of times
LEAD_CONTAINMENT = 0.7  # of the shorter lead in the other: a dateline or credit line may differ
CUT_CONTAINMENT = 0.6  # of the shorter text in the longer
LEAD_DECIDES = 2 * LEAD_SHINGLES  # a text of at most this many shingles: its lead decides
TITLE_MIN_WORDS = 6  # a headline shorter than this joins nothing by its words
# Band numbers of the lead's bands, after those of the whole text's: their keys never collide.
_LEAD_BAND_BASE = 128

_FORMAT = b"MH4"  # whole-text values, lead values, shingle count
_FORMAT_MH3 = b"MH3"  # the whole-text values alone, in 4-byte words: still read
_FORMAT_WIDE = b"MH2"  # the same in 8-byte words: still read
_HEADER = struct.Struct("<3sHI")  # format tag, number of permutations, seed
_LEAD_HEADER = struct.Struct("<IH")  # MH4, after the values: shingle count, lead permutations


class StorySignature:
    """A MinHash signature of one text; compare with :meth:`similarity` or :func:`same_story`.

    Holds the values as 4-byte little-endian words (512 bytes for 128 permutations), not the
    MinHash object: the index keeps one per recent article. ``lead`` holds the lead's values
    and ``shingles`` the text's distinct shingles (None and 0 for a signature stored before
    they were kept, and for :func:`exact_signature`'s: such a signature is never a cut copy).
    """

    __slots__ = ("_values", "lead", "shingles")

    def __init__(self, values: bytes, lead: bytes | None = None, shingles: int = 0) -> None:
        if len(values) % VALUE.size or len(values) < 2 * VALUE.size:
            raise ValueError("a story signature needs at least two 4-byte values")
        if lead is not None and (len(lead) % VALUE.size or len(lead) < 2 * VALUE.size):
            raise ValueError("a lead signature needs at least two 4-byte values")
        self._values = values
        self.lead = lead
        self.shingles = shingles

    @property
    def num_perm(self) -> int:
        return len(self._values) // VALUE.size

    @property
    def empty(self) -> bool:
        """True for the signature of a text without words (it matches nothing)."""
        return self._values == _empty(self.num_perm)

    def similarity(self, other: StorySignature) -> float:
        """Estimated Jaccard similarity of the two texts' shingle sets, 0.0 to 1.0."""
        if self.empty or other.empty or self.num_perm != other.num_perm:
            return 0.0
        return _agreement(self._values, other._values)

    def lead_similarity(self, other: StorySignature) -> float:
        """Estimated Jaccard similarity of the two leads' shingle sets (0.0 without leads)."""
        if self.lead is None or other.lead is None or len(self.lead) != len(other.lead):
            return 0.0
        return _agreement(self.lead, other.lead)

    def band_keys(self, bands: int, rows: int) -> list[int]:
        """One signed 64-bit key per band of ``rows`` values, stable across processes.

        The band's number is part of its key, so equal values in two different bands do not
        collide. Keys are what the LSH index stores and looks up (in memory or in the
        database, where every daemon must compute the same key for the same band).
        """
        return _band_keys(self._values, bands, rows, 0)

    def lead_band_keys(self) -> list[int]:
        """The lead's band keys (:data:`LEAD_BANDS`), numbered after the text's own, so a
        copy cut short finds its original (none for a signature without a lead)."""
        if self.lead is None or self.lead == _empty(len(self.lead) // VALUE.size):
            return []
        return _band_keys(self.lead, LEAD_BANDS, LEAD_ROWS, _LEAD_BAND_BASE)

    def to_bytes(self) -> bytes:
        """A compact, versioned encoding for the database: ``MH4`` (9 + 4 x 128 + 6 + 4 x 64
        = 783 bytes), or ``MH3`` (521 bytes) for a signature without a lead."""
        header = _HEADER.pack(_FORMAT if self.lead is not None else _FORMAT_MH3,
                              self.num_perm, SEED)
        if self.lead is None:
            return header + self._values
        return (header + self._values
                + _LEAD_HEADER.pack(self.shingles, len(self.lead) // VALUE.size) + self.lead)

    @classmethod
    def from_bytes(cls, data: bytes) -> StorySignature:
        """Decode :meth:`to_bytes` output (``MH4``, ``MH3``) or the older 8-byte ``MH2``;
        raises ValueError for anything else."""
        if len(data) < _HEADER.size:
            raise ValueError("not a story signature: too short")
        tag, count, seed = _HEADER.unpack_from(data)
        width = 8 if tag == _FORMAT_WIDE else 4 if tag in (_FORMAT, _FORMAT_MH3) else 0
        end = _HEADER.size + width * count
        if not width or count < 2 or len(data) < end:
            raise ValueError("not a story signature: bad header or length")
        if seed != SEED:
            raise ValueError("not a story signature: made with another seed")
        if tag == _FORMAT:
            if len(data) < end + _LEAD_HEADER.size:
                raise ValueError("not a story signature: bad header or length")
            shingles, lead_count = _LEAD_HEADER.unpack_from(data, end)
            lead_at = end + _LEAD_HEADER.size
            if lead_count < 2 or len(data) != lead_at + VALUE.size * lead_count:
                raise ValueError("not a story signature: bad header or length")
            return cls(bytes(data[_HEADER.size:end]), bytes(data[lead_at:]), shingles)
        if len(data) != end:
            raise ValueError("not a story signature: bad header or length")
        if width == 4:
            return cls(bytes(data[_HEADER.size:]))
        values = struct.unpack_from(f"<{count}Q", data, _HEADER.size)
        if max(values) > MAX_VALUE:
            raise ValueError("not a story signature: value out of range")
        return cls(struct.pack(f"<{count}I", *values))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorySignature):
            return NotImplemented
        return (self._values, self.lead, self.shingles) == (
            other._values, other.lead, other.shingles)

    def __hash__(self) -> int:
        return hash((self._values, self.lead, self.shingles))


def _empty(count: int) -> bytes:
    """The values of a MinHash of no shingles."""
    return VALUE.pack(MAX_VALUE) * count


def _agreement(mine: bytes, theirs: bytes) -> float:
    """The share of positions where two equally long runs of 4-byte values agree."""
    pairs = zip(memoryview(mine).cast("I"), memoryview(theirs).cast("I"), strict=True)
    return sum(a == b for a, b in pairs) / (len(mine) // VALUE.size)


def _index_key(data: bytes) -> int:
    """A key of the story index (``story_bands.band_key``, a signed 64-bit integer), stable
    across processes: band keys and headline keys alike."""
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little", signed=True)


def _band_keys(values: bytes, bands: int, rows: int, base: int) -> list[int]:
    width = rows * VALUE.size
    return [_index_key(bytes((base + i,)) + values[i * width:(i + 1) * width])
            for i in range(bands)]


def _containment(similarity: float, smaller: int, larger: int) -> float:
    """The estimated share of the smaller set inside the larger, from their Jaccard
    similarity and sizes: ``|A & B| = J (|A| + |B|) / (1 + J)``."""
    return similarity * (smaller + larger) / ((1.0 + similarity) * smaller)


def cut_copy(one: StorySignature, other: StorySignature, similarity: float | None = None
             ) -> bool:
    """Whether the shorter of two texts is the longer one cut short: its lead within the
    other's, and the whole of it within the other (see the module's docstring).
    ``similarity``: the two texts' :meth:`~StorySignature.similarity` if known already."""
    if not one.shingles or not other.shingles or one.empty or other.empty:
        return False
    short, long = (one, other) if one.shingles <= other.shingles else (other, one)
    lead = short.lead_similarity(long)
    if lead == 0.0 or _containment(lead, min(short.shingles, LEAD_SHINGLES),
                                   min(long.shingles, LEAD_SHINGLES)) < LEAD_CONTAINMENT:
        return False
    if short.shingles <= LEAD_DECIDES:
        return True
    whole = short.similarity(long) if similarity is None else similarity
    return _containment(whole, short.shingles, long.shingles) >= CUT_CONTAINMENT


def same_story(one: StorySignature, other: StorySignature,
               threshold: float = DEFAULT_THRESHOLD) -> float | None:
    """How strongly two signatures are one story, or None if they are not: their estimated
    Jaccard similarity if it reaches ``threshold``, else 0.0 if one is the other cut short
    (:func:`cut_copy`); so a full copy ranks above a cut one."""
    score = one.similarity(other)
    if score >= threshold:
        return score
    return 0.0 if cut_copy(one, other, score) else None


def text_signature(text: str, *, num_perm: int = NUM_PERM) -> StorySignature:
    """The MinHash signature of ``text``'s word 3-shingles, and of its lead's (case,
    punctuation, Unicode normalisation form and invisible marks inside words ignored).

    A text shorter than one shingle is treated as a single shingle; a text without any word
    gives an empty signature, which never matches.
    """
    tokens = words(text)
    hashes = shingle_hashes(tokens)
    lead = shingle_hashes(tokens[:LEAD_SHINGLES + SHINGLE_WORDS - 1])
    return StorySignature(minhash(hashes, num_perm), minhash(lead, LEAD_PERM), len(hashes))


def exact_signature(title: str, text: str, *,
                    num_perm: int = NUM_PERM) -> StorySignature | None:
    """The signature of a text too short to compare by shingles (under
    :data:`MIN_STORY_TEXT_CHARS`: a feed's teaser standing in for a page that gave no text),
    which groups it with exact copies only.

    Its shingle set is one element, the hash of the title's and the text's words (as
    :func:`text_signature` reads them: case, punctuation, spacing, Unicode form and invisible
    marks ignored), so its similarity is 1.0 with another with the same title and text and
    about 0 with any other, a long text's included; built as :func:`text_signature` builds
    one, it is stored, banded and compared like any other, but has no lead. The two parts are
    joined by a newline, which no shingle holds, so the element is never one of a text's
    shingles.

    None when the text has no words, or only the title's (a title-only item: a daily
    "Morning briefing" must not merge a week of items).
    """
    text_words = words(text)
    heading = words(title)
    if not text_words or text_words == heading:
        return None
    key = f"{' '.join(heading)}\n{' '.join(text_words)}"
    return StorySignature(minhash([key_hash(key)], num_perm))


# A headline's outlet suffix, as aggregators append it: "Headline - Outlet", "... | Outlet".
_OUTLET_SUFFIX = re.compile(r"\s+[-\u2013\u2014|]\s+(?!.*\s[-\u2013\u2014|]\s)[^\n]{1,80}$")


def title_keys(title: str) -> list[int]:
    """Keys of a headline, for joining an item that has no text of its own (an aggregator's
    title-only entry) with the article it names: the headline's words (as
    :func:`text_signature` reads them), and again without an outlet suffix
    (``"... - detikNews"``), each only if it has at least :data:`TITLE_MIN_WORDS` words (a
    short headline, "Live updates", names no one story). Stable across processes, stored
    beside the LSH band keys and never equal to one (another hash input)."""
    variants = [words(title)]
    suffix = _OUTLET_SUFFIX.search(title)
    if suffix is not None:
        variants.append(words(title[:suffix.start()]))
    return list(dict.fromkeys(_index_key(b"title\n" + " ".join(v).encode())
                              for v in variants if len(v) >= TITLE_MIN_WORDS))


def aware(moment: datetime) -> datetime:
    # Stored and feed dates may come without an offset; they are UTC by convention here.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def worker_signature(text: str) -> bytes | None:
    """``text_signature(text).to_bytes()``, or None for a text too short to compare by
    shingles (the registry gives it an :func:`exact_signature`, which needs the title).

    Handed by the daemon to the extraction workers (``Extractor(signer=...)``), which call it
    on the text they extracted: the signature is then computed where the text is, in parallel,
    not in the daemon's process. Pure, and cheap to import (no store).
    """
    if too_short_to_sign(text):
        return None
    return text_signature(text).to_bytes()


def too_short_to_sign(text: str) -> bool:
    """Whether ``text`` is under :data:`MIN_STORY_TEXT_CHARS`: a teaser, signed with its title
    (:func:`exact_signature`), not by its shingles."""
    return len(text) < MIN_STORY_TEXT_CHARS

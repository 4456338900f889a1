"""Near-duplicate grouping: syndicated copies of one article become one story.

News is copied between outlets with a new header, a "Dikutip dari detiknews" credit, a
different boilerplate footer and a few edited sentences. Exact hashes miss those copies;
MinHash over word shingles estimates the Jaccard similarity of the two texts' shingle sets
cheaply, and locality-sensitive hashing (LSH) finds the candidates among thousands of recent
articles without comparing against each one.

- :func:`text_signature` turns a text into a :class:`StorySignature` (128 MinHash values over
  word 3-shingles), which serialises to 521 bytes for the database (``to_bytes``/``from_bytes``:
  format ``MH3``, one 4-byte word per value, since the affine32 values are 32-bit). ``MH2``,
  the same values in 8-byte slots (1,033 bytes), is still read, so signatures stored before
  stay comparable; they are not rewritten and go with their articles.
  Shingles are hashed with CRC-32 (``MH2``/``MH3``), not datasketch's default SHA-1 (``MH1``,
  no longer read): a MinHash needs distinct values, not a cryptographic hash, and the
  murmur finaliser and affine permutations applied after it do the mixing. It is 2.3 times
  faster. The function is pure (no store, no I/O), so it can run where the text is extracted.
- :func:`exact_signature` signs a text too short for shingles (under 200 characters, a feed's
  teaser) with its title: a set of one element, so it groups with exact copies only.
- :meth:`StorySignature.band_keys` cuts a signature into LSH bands and names each with a
  64-bit key that is the same in every process and Python version (BLAKE2b of the band
  number and its values), so the keys can be stored and shared between daemons.
- :class:`StoryIndex` holds the recent signatures in memory: :meth:`StoryIndex.find` returns
  the story of the most similar article published within the time window (default 7 days)
  whose *estimated* Jaccard similarity reaches the threshold (default 0.5; LSH only proposes
  candidates, each is verified). The caller persists signatures and rebuilds the index at
  start-up with :meth:`StoryIndex.add`; :meth:`StoryIndex.prune` drops old entries.

Calibration (word 3-shingles, 128 permutations): a syndicated copy of seed article 000 with
a new header, footer and three rewritten sentences scores about 0.77; the two seed articles
(different stories on related diplomacy) about 0.0; no pair of the 181 benchmark articles
reaches 0.5.

The MinHash is datasketch's ``affine32`` scheme (seed 1), computed here with numpy: the same
values bit for bit (tests/stories/test_signatures.py pins them), without datasketch, whose
import pulled in scipy (~50 MB of the daemon's memory for the one class used).
"""

from __future__ import annotations

import functools
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import blake2b

import numpy as np

NUM_PERM = 128
SHINGLE_WORDS = 3  # text_signature zips three token lists: change both together
DEFAULT_THRESHOLD = 0.5
MIN_STORY_TEXT_CHARS = 200  # shorter texts (bare summaries): exact copies only (exact_signature)
DEFAULT_WINDOW = timedelta(days=7)

# Fixed so that signatures stored by one process compare with those made by the next one.
_SEED = 1
_SCHEME = "affine32"
_FORMAT = b"MH3"  # 32-bit values in 4-byte words
_FORMAT_WIDE = b"MH2"  # the same values in 8-byte words: still read
# MH1 (SHA-1 shingle hashes) is not comparable and is no longer read
_HEADER = struct.Struct("<3sHI")  # format tag, number of permutations, seed

# Scripts written without spaces: each character is a token (so shingles are character
# trigrams); everything else is split into words.
_CJK = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


# Invisible marks a CMS may put inside words (soft hyphens, zero-width spaces and joiners,
# word joiners, byte-order marks): not word characters, so each would split its word in two.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")


def _tokens(text: str) -> list[str]:
    # NFKC first: the same words in decomposed form (combining marks, which split a word
    # here) or in full- or half-width forms are the same tokens. A no-op on most texts.
    # Invisible marks go too: a word with a zero-width space inside is the same word.
    return _TOKEN.findall(_INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold())


# MurmurHash3's 32-bit finaliser, applied once to each shingle hash before the permutations.
_FMIX_MUL1 = np.uint32(0x85EBCA6B)
_FMIX_MUL2 = np.uint32(0xC2B2AE35)


@functools.cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """``num_perm`` affine maps ``h -> a * h + b mod 2**32`` (``a`` odd, so each is a
    bijection), drawn from the fixed seed as datasketch's ``affine32`` scheme draws them.
    Drawing them is a third of the cost of a short text's signature: once per process."""
    generator = np.random.RandomState(_SEED)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


def _minhash(hashes: list[int], num_perm: int) -> bytes:
    """The ``num_perm`` minimum permuted values of the 32-bit ``hashes``, as 4-byte words."""
    if not hashes:
        return _VALUE.pack(_MAX_VALUE) * num_perm
    a, b = _permutations(num_perm)
    h = np.array(hashes, dtype=np.uint32)
    h = h ^ (h >> np.uint32(16))  # uint32 arithmetic wraps: that is the modulo 2**32
    h = h * _FMIX_MUL1
    h = h ^ (h >> np.uint32(13))
    h = h * _FMIX_MUL2
    h = h ^ (h >> np.uint32(16))
    # A block of shingles at a time: all of them by every permutation at once took 220 MB
    # for 1.4 MB of text (a MemoryError in a capped extraction worker).
    values: np.ndarray = np.full(num_perm, _MAX_VALUE, dtype=np.uint32)
    for start in range(0, len(h), _BLOCK):
        block = h[start:start + _BLOCK].reshape(-1, 1)
        np.minimum(values, (block * a + b).min(axis=0), out=values)
    return values.astype("<u4").tobytes()


_BLOCK = 2048  # shingles per step of _minhash: 1 MB per temporary array at 128 permutations


_MAX_VALUE = 0xFFFFFFFF  # affine32 values are 32-bit; an empty MinHash holds the maximum
_VALUE = struct.Struct("<I")


class StorySignature:
    """A MinHash signature of one text; compare with :meth:`similarity`.

    Holds the values as 4-byte little-endian words (512 bytes for 128 permutations), not the
    MinHash object: the index keeps one per recent article.
    """

    __slots__ = ("_values",)

    def __init__(self, values: bytes) -> None:
        if len(values) % _VALUE.size or len(values) < 2 * _VALUE.size:
            raise ValueError("a story signature needs at least two 4-byte values")
        self._values = values

    @property
    def num_perm(self) -> int:
        return len(self._values) // _VALUE.size

    @property
    def empty(self) -> bool:
        """True for the signature of a text without words (it matches nothing)."""
        return self._values == _VALUE.pack(_MAX_VALUE) * self.num_perm

    def similarity(self, other: StorySignature) -> float:
        """Estimated Jaccard similarity of the two texts' shingle sets, 0.0 to 1.0."""
        if self.empty or other.empty or self.num_perm != other.num_perm:
            return 0.0
        mine, theirs = memoryview(self._values).cast("I"), memoryview(other._values).cast("I")
        return sum(a == b for a, b in zip(mine, theirs, strict=True)) / self.num_perm

    def band_keys(self, bands: int, rows: int) -> list[int]:
        """One signed 64-bit key per band of ``rows`` values, stable across processes.

        The band's number is part of its key, so equal values in two different bands do not
        collide. Keys are what the LSH index stores and looks up (in memory or in the
        database, where every daemon must compute the same key for the same band).
        """
        width = rows * _VALUE.size
        values = self._values
        return [int.from_bytes(blake2b(bytes((i,)) + values[i * width:(i + 1) * width],
                                       digest_size=8).digest(), "little", signed=True)
                for i in range(bands)]

    def to_bytes(self) -> bytes:
        """A compact, versioned encoding for the database (``MH3``: 4-byte little-endian
        words, 9 + 4 x 128 = 521 bytes)."""
        return _HEADER.pack(_FORMAT, self.num_perm, _SEED) + self._values

    @classmethod
    def from_bytes(cls, data: bytes) -> StorySignature:
        """Decode :meth:`to_bytes` output (``MH3``) or the older 8-byte ``MH2``; raises
        ValueError for anything else."""
        if len(data) < _HEADER.size:
            raise ValueError("not a story signature: too short")
        tag, count, seed = _HEADER.unpack_from(data)
        width = 4 if tag == _FORMAT else 8 if tag == _FORMAT_WIDE else 0
        if not width or len(data) != _HEADER.size + width * count or count < 2:
            raise ValueError("not a story signature: bad header or length")
        if seed != _SEED:
            raise ValueError("not a story signature: made with another seed")
        if width == 4:
            return cls(bytes(data[_HEADER.size:]))
        values = struct.unpack_from(f"<{count}Q", data, _HEADER.size)
        if max(values) > _MAX_VALUE:
            raise ValueError("not a story signature: value out of range")
        return cls(struct.pack(f"<{count}I", *values))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorySignature):
            return NotImplemented
        return self._values == other._values

    def __hash__(self) -> int:
        return hash(self._values)


def text_signature(text: str, *, num_perm: int = NUM_PERM) -> StorySignature:
    """The MinHash signature of ``text``'s word 3-shingles (case, punctuation, Unicode
    normalisation form and invisible marks inside words ignored).

    A text shorter than one shingle is treated as a single shingle; a text without any word
    gives an empty signature, which never matches.
    """
    tokens = _tokens(text)
    if len(tokens) >= SHINGLE_WORDS:
        crc32 = zlib.crc32
        hashes = list({crc32(f"{a} {b} {c}".encode())
                       for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False)})
    elif tokens:
        hashes = [zlib.crc32(" ".join(tokens).encode())]
    else:
        hashes = []
    return StorySignature(_minhash(hashes, num_perm))


def exact_signature(title: str, text: str, *,
                    num_perm: int = NUM_PERM) -> StorySignature | None:
    """The signature of a text too short to compare by shingles (under
    :data:`MIN_STORY_TEXT_CHARS`: a feed's teaser standing in for a page that gave no text),
    which groups it with exact copies only.

    Its shingle set is one element, the hash of the title's and the text's words (as
    :func:`text_signature` reads them: case, punctuation, spacing, Unicode form and invisible
    marks ignored), so its similarity is 1.0 with another with the same title and text and
    about 0 with any other, a long text's included; built as :func:`text_signature` builds
    one, it is stored, banded and compared like any other. The two parts are joined by a
    newline, which no shingle holds, so the element is never one of a text's shingles.

    None when the text has no words, or only the title's (a title-only item: a daily
    "Morning briefing" must not merge a week of items).
    """
    words = _tokens(text)
    heading = _tokens(title)
    if not words or words == heading:
        return None
    key = f"{' '.join(heading)}\n{' '.join(words)}"
    return StorySignature(_minhash([zlib.crc32(key.encode())], num_perm))


@dataclass(frozen=True, slots=True)
class _Entry:
    story_key: str
    signature: StorySignature
    published: datetime


def aware(moment: datetime) -> datetime:
    # Stored and feed dates may come without an offset; they are UTC by convention here.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _candidate_probability(similarity: float, bands: int, rows: int) -> float:
    return 1.0 - (1.0 - similarity**rows) ** bands


@functools.cache
def banding(threshold: float, num_perm: int) -> tuple[int, int]:
    """The (bands, rows) split of ``num_perm`` values that makes a pair a candidate about
    when its similarity passes ``threshold``: least false-positive plus false-negative area
    under the candidate-probability curve (datasketch's criterion, weights equal)."""
    steps = 100
    below = [threshold * (i + 0.5) / steps for i in range(steps)]
    above = [threshold + (1.0 - threshold) * (i + 0.5) / steps for i in range(steps)]
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_pos = sum(_candidate_probability(s, bands, rows) for s in below) * threshold
            false_neg = sum(1 - _candidate_probability(s, bands, rows)
                            for s in above) * (1.0 - threshold)
            error = (false_pos + false_neg) / steps
            if best is None or error < best[0]:
                best = (error, bands, rows)
    assert best is not None
    return best[1], best[2]


class StoryIndex:
    """In-memory LSH index of recent articles' signatures, keyed by article.

    Each signature is cut into bands; two articles become candidates when any band is equal,
    and each candidate is verified by its estimated similarity. One dict per band maps the
    band's hash to the article keys holding it: about 1.5 KB per article with its signature
    (datasketch's MinHashLSH, a bytes key and a set per band, took 9.5 KB: 47 MB against 7 MB
    for 5,000 articles, and a 7-day window of a busy installation holds tens of thousands).

    Not thread-safe: the caller serialises find-then-add (the story registry holds a lock).
    """

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        window: timedelta = DEFAULT_WINDOW,
        num_perm: int = NUM_PERM,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self.window = window
        self.num_perm = num_perm
        self._bands, self._rows = banding(threshold, num_perm)
        # band hash -> one article key, or a list of them when several share the band
        self._buckets: list[dict[int, str | list[str]]] = [{} for _ in range(self._bands)]
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_key: object) -> bool:
        return article_key in self._entries

    def add(
        self, story_key: str, article_key: str, sig: StorySignature, published: datetime
    ) -> None:
        """Index one article's signature under its story; re-adding a key replaces it.

        Empty signatures are not indexed (they would never be found anyway).
        """
        if article_key in self._entries:
            self.remove(article_key)
        if sig.empty:
            return
        if sig.num_perm != self.num_perm:
            raise ValueError(f"signature has {sig.num_perm} permutations, "
                             f"the index expects {self.num_perm}")
        for bucket, key in zip(self._buckets, sig.band_keys(self._bands, self._rows),
                               strict=True):
            held = bucket.get(key)
            if held is None:
                bucket[key] = article_key
            elif isinstance(held, list):
                held.append(article_key)
            else:
                bucket[key] = [held, article_key]
        self._entries[article_key] = _Entry(story_key, sig, aware(published))

    def remove(self, article_key: str) -> None:
        """Forget one article (no error if it is not indexed)."""
        entry = self._entries.pop(article_key, None)
        if entry is None:
            return
        for bucket, key in zip(self._buckets,
                               entry.signature.band_keys(self._bands, self._rows), strict=True):
            held = bucket.get(key)
            if isinstance(held, list):
                held.remove(article_key)
                if len(held) == 1:
                    bucket[key] = held[0]
            elif held is not None:
                del bucket[key]

    def _candidates(self, sig: StorySignature) -> set[str]:
        found: set[str] = set()
        for bucket, key in zip(self._buckets, sig.band_keys(self._bands, self._rows),
                               strict=True):
            held = bucket.get(key)
            if isinstance(held, list):
                found.update(held)
            elif held is not None:
                found.add(held)
        return found

    def find(self, sig: StorySignature, published: datetime) -> str | None:
        """The story of the most similar indexed article within the window, or None.

        Candidates proposed by LSH are kept only when their estimated Jaccard similarity is at
        least the threshold and their publication time is within ``window`` of ``published``
        (either side: feeds deliver late). Ties go to the most recently published.
        """
        if sig.empty or not self._entries or sig.num_perm != self.num_perm:
            return None
        moment = aware(published)
        best: tuple[float, datetime, str] | None = None
        for key in self._candidates(sig):
            entry = self._entries[key]
            if abs(entry.published - moment) > self.window:
                continue
            score = sig.similarity(entry.signature)
            if score < self.threshold:
                continue
            candidate = (score, entry.published, entry.story_key)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        return best[2] if best else None

    def prune(self, before: datetime) -> int:
        """Drop articles published before ``before``; returns how many were dropped."""
        cutoff = aware(before)
        old = [key for key, entry in self._entries.items() if entry.published < cutoff]
        for key in old:
            self.remove(key)
        return len(old)


def worker_signature(text: str) -> bytes | None:
    """``text_signature(text).to_bytes()``, or None for a text too short to compare by
    shingles (the registry gives it an :func:`exact_signature`, which needs the title).

    Handed by the daemon to the extraction workers (``Extractor(signer=...)``), which call it
    on the text they extracted: the signature is then computed where the text is, in parallel,
    not in the daemon's process. Pure, and cheap to import (no store).
    """
    if len(text) < MIN_STORY_TEXT_CHARS:
        return None
    return text_signature(text).to_bytes()

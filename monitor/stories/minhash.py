"""MinHash values of a text's word shingles: the hashing under the story signatures.

The scheme is datasketch's ``affine32`` (seed 1), computed with numpy: the same values bit
for bit (tests/stories/test_signatures.py pins them), without datasketch, whose import pulled
in scipy (~50 MB of the daemon's memory for the one class used). Shingles are hashed with
CRC-32, not datasketch's default SHA-1: a MinHash needs distinct values, not a cryptographic
hash, and the murmur finaliser and the affine permutations applied after it do the mixing
(2.3 times faster). Pure: no store, no I/O, so it runs in extraction workers.

The stories stage's only import of numpy.
"""

from __future__ import annotations

import functools
import re
import struct
import unicodedata
import zlib

import numpy as np

SEED = 1  # fixed: signatures stored by one process compare with those made by the next one
SHINGLE_WORDS = 3  # shingle_hashes zips three token lists: change both together
MAX_VALUE = 0xFFFFFFFF  # affine32 values are 32-bit; an empty MinHash holds the maximum
VALUE = struct.Struct("<I")  # one value as stored: a 4-byte little-endian word
_BLOCK = 2048  # shingles per step of minhash: 1 MB per temporary array at 128 permutations

# Scripts written without spaces: each character is a token (so shingles are character
# trigrams); everything else is split into words.
_CJK = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


# Invisible marks a CMS may put inside words (soft hyphens, zero-width spaces and joiners,
# word joiners, byte-order marks): not word characters, so each would split its word in two.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")


def words(text: str) -> list[str]:
    # NFKC first: the same words in decomposed form (combining marks, which split a word
    # here) or in full- or half-width forms are the same tokens. A no-op on most texts.
    # Invisible marks go too: a word with a zero-width space inside is the same word.
    return _TOKEN.findall(_INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold())


# MurmurHash3's 32-bit finaliser, applied once to each shingle hash before the permutations.
_FMIX_MUL1 = np.uint32(0x85EBCA6B)
_FMIX_MUL2 = np.uint32(0xC2B2AE35)


@functools.cache
def permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """``num_perm`` affine maps ``h -> a * h + b mod 2**32`` (``a`` odd, so each is a
    bijection), drawn from the fixed seed as datasketch's ``affine32`` scheme draws them.
    Drawing them is a third of the cost of a short text's signature: once per process."""
    generator = np.random.RandomState(SEED)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.flags.writeable = False
    b.flags.writeable = False
    return a, b


def minhash(hashes: list[int], num_perm: int) -> bytes:
    """The ``num_perm`` minimum permuted values of the 32-bit ``hashes``, as 4-byte words."""
    if not hashes:
        return VALUE.pack(MAX_VALUE) * num_perm
    a, b = permutations(num_perm)
    h = np.array(hashes, dtype=np.uint32)
    h = h ^ (h >> np.uint32(16))  # uint32 arithmetic wraps: that is the modulo 2**32
    h = h * _FMIX_MUL1
    h = h ^ (h >> np.uint32(13))
    h = h * _FMIX_MUL2
    h = h ^ (h >> np.uint32(16))
    # A block of shingles at a time: all of them by every permutation at once took 220 MB
    # for 1.4 MB of text (a MemoryError in a capped extraction worker).
    values: np.ndarray = np.full(num_perm, MAX_VALUE, dtype=np.uint32)
    for start in range(0, len(h), _BLOCK):
        block = h[start:start + _BLOCK].reshape(-1, 1)
        np.minimum(values, (block * a + b).min(axis=0), out=values)
    return values.astype("<u4").tobytes()


def shingle_hashes(tokens: list[str]) -> list[int]:
    """The distinct CRC-32 hashes of the word 3-shingles of ``tokens`` (of the tokens joined,
    for fewer than three)."""
    if len(tokens) >= SHINGLE_WORDS:
        crc32 = zlib.crc32
        return list({crc32(f"{a} {b} {c}".encode())
                     for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False)})
    if tokens:
        return [key_hash(" ".join(tokens))]
    return []


def key_hash(key: str) -> int:
    """The 32-bit hash of one shingle-like key, as :func:`shingle_hashes` hashes shingles."""
    return zlib.crc32(key.encode())

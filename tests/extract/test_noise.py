"""The clean-up's shortcuts decide every line as the plain patterns they replaced did.

``is_noise_line`` runs on every line of every page, so its checks were made cheap: the
notice ending is matched on the reversed line, the photo-credit search is skipped for lines
without "(...)", ":" or "/", and the doubled-caption test compares two halves of a string.
The reference implementations below are the ones they replaced; each shortcut must agree
with its reference on every line, including generated ones built from the patterns' own
pieces, odd case and odd whitespace.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.extract import noise

_REFERENCE_NOTICE = re.compile(
    r"^\W{0,3}(?:copyright|hak\s+cipta)\s*(?:©|\(c\)|\d{4}\b|by\b|dilindungi)"
    r"|^\W{0,3}(?:©|\(c\)\s*\d{4})"
    r"|^this\s+(?:copy|article)\s+is\s+for\s+your\s+personal,?\s+non-commercial\s+use"
    r"|\ball\s+rights\s+reserved\W*$|\bhak\s+cipta\s+dilindungi\s+undang-undang\W*$",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")


def _reference_repeated(line: str) -> bool:
    words = _SPACE.sub(" ", noise._TAG.sub(" ", line)).strip().casefold().split(" ")
    half = len(words) // 2
    return len(words) >= 8 and len(words) % 2 == 0 and words[:half] == words[half:]


# Pieces of the patterns, near misses and characters that case folding or \s treat oddly
# (the Kelvin sign, long s, dotless i, no-break and ideographic spaces).
_PIECES = st.sampled_from([
    "all", "rights", "reserved", "All Rights Reserved", "alL rıghts reſerved", "hak", "cipta",
    "dilindungi", "undang-undang", "Undang-Undang", "copyright", "©", "(c)", "2024", "by",
    "this article is for your personal non-commercial use", "Foto", "foto", "PHOTO", "Photo",
    "photograph", "ilustrasi", "Ilustrasi", "dok.", "Dokumentasi", "pic", "gambar", "image",
    "ANTARA", "ANTARA FOTO", "ANTARA FOTO/", " ANTARA/", "antara/", "(Foto: ", "Foto:",
    "Reuters", "AP", "Jakarta", "(", ")", ":", "/",
    ".", ",", "-", "!", " ", "  ", "\t", "\u00a0", "\u3000", "\u212a", "<b>", "</b>", "<i x>",
    "x", "word", "the minister said",
])
_LINES = st.lists(_PIECES, max_size=14).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_LINES)
def test_notice_check_agrees_with_the_forward_pattern(line: str) -> None:
    assert noise._is_notice(line) == (_REFERENCE_NOTICE.search(line) is not None)


@settings(max_examples=1000, deadline=None)
@given(_LINES)
def test_photo_credit_check_agrees_with_the_plain_search(line: str) -> None:
    assert noise._has_photo_credit(line) == (noise._PHOTO_CREDIT.search(line) is not None)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=8).map("".join), st.sampled_from(
    ["", " ", "  ", "<b> </b>", "\u00a0", "X"]))
def test_repeated_caption_check_agrees_with_the_word_lists(half: str, middle: str) -> None:
    for line in (f"{half}{middle}{half}", f"{half} {half}x", half, f" {half}\t{half.upper()} "):
        assert noise._is_repeated(line) == _reference_repeated(line), line


def test_the_shortcuts_agree_on_every_line_of_the_corpus_and_seeds(shared_dir: Path) -> None:
    truth = json.loads((shared_dir / "corpora" / "article-extraction-benchmark"
                        / "ground-truth.json").read_text(encoding="utf-8"))
    texts = [page["articleBody"] for page in truth.values()]
    texts += [path.read_text(encoding="utf-8") for path in (shared_dir / "seeds").iterdir()
              if path.is_file()]
    lines = [line.strip() for text in texts for line in text.splitlines()]
    assert len(lines) > 1000
    for line in lines:
        assert noise._is_notice(line) == (_REFERENCE_NOTICE.search(line) is not None), line
        assert noise._has_photo_credit(line) == (
            noise._PHOTO_CREDIT.search(line) is not None), line
        assert noise._is_repeated(line) == _reference_repeated(line), line


def test_the_known_noise_lines_still_hit_each_check() -> None:
    assert noise._is_notice("Copyright ©2019 Dow Jones & Company, Inc. All Rights Reserved")
    assert noise._is_notice("Berita ini. Hak Cipta Dilindungi Undang-Undang.")
    assert not noise._is_notice("Rights reserved for the minister, he said")
    assert noise._has_photo_credit("Pertemuan di Alaska. (Foto: Reuters)")
    assert noise._has_photo_credit("Warga antre, Senin. ANTARA FOTO/Aditya Pradana Putra/app")
    assert noise._is_repeated("Ilustrasi pertemuan di Doha hari ini "
                              "Ilustrasi pertemuan di Doha hari ini")
    assert not noise._is_repeated("one two three one two three")  # under four words a half

"""Near-duplicate story grouping: syndicated copies join, different stories stay apart."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest

from monitor.stories.lsh import StoryIndex, banding
from monitor.stories.signatures import (
    NUM_PERM,
    StorySignature,
    exact_signature,
    text_signature,
)

SEED_000 = "seeds/000_709bee91dd3b3684.txt"
SEED_004 = "seeds/004_311c2814fe6639fd.txt"
NOW = datetime(2025, 12, 8, 9, 0, tzinfo=UTC)


def syndicated_copy(original: str) -> str:
    """How another outlet republishes seed 000: its own header and footer, edited sentences."""
    lines = [line for line in original.splitlines()[3:] if line.strip()]
    lines[0] = lines[0].replace("New York (usmnews) – Dikutip dari detiknews, ", "")
    lines[2] = lines[2].replace("Fokus utama dari pertemuan ini",
                                "Inti pembicaraan dalam pertemuan tersebut")
    lines[5] = ("Pertemuan ini juga menjadi upaya memulihkan hubungan yang rusak akibat "
                "serangan pada 9 September 2025.")
    lines[-1] += " Demikian dilaporkan kantor berita."
    header = "Jakarta, CNN Indonesia -- Gedung Putih memfasilitasi pertemuan tertutup.\n"
    footer = "\nBaca artikel selengkapnya di sini. Ikuti kami di Google News dan WhatsApp."
    return header + "\n".join(lines) + footer


@pytest.fixture(scope="module")
def seeds(shared_dir: Path) -> tuple[str, str]:
    return ((shared_dir / SEED_000).read_text(encoding="utf-8"),
            (shared_dir / SEED_004).read_text(encoding="utf-8"))


def test_a_syndicated_copy_joins_the_original_story(seeds: tuple[str, str]) -> None:
    original, _ = seeds
    copy = syndicated_copy(original)
    assert copy != original
    index = StoryIndex()
    index.add("story-1", "article-1", text_signature(original), NOW)
    assert text_signature(original).similarity(text_signature(copy)) > 0.6
    assert index.find(text_signature(copy), NOW + timedelta(hours=5)) == "story-1"


def test_the_two_seed_articles_are_different_stories(seeds: tuple[str, str]) -> None:
    gaza, ukraine = seeds
    index = StoryIndex()
    index.add("gaza", "a1", text_signature(gaza), NOW)
    assert text_signature(gaza).similarity(text_signature(ukraine)) < 0.1
    assert index.find(text_signature(ukraine), NOW) is None


def test_benchmark_articles_do_not_group_with_each_other(shared_dir: Path) -> None:
    root = shared_dir / "corpora" / "article-extraction-benchmark"
    bodies = [item["articleBody"] for _, item in sorted(
        json.loads((root / "ground-truth.json").read_text(encoding="utf-8")).items())]
    index = StoryIndex()
    for number, body in enumerate(bodies):
        signature = text_signature(body)
        assert index.find(signature, NOW) is None, f"article {number} matched another"
        index.add(f"story-{number}", f"article-{number}", signature, NOW)
    assert len(index) == len(bodies)
    # ...while each of them finds itself again.
    assert index.find(text_signature(bodies[7]), NOW) == "story-7"


def test_matches_are_limited_to_the_time_window(seeds: tuple[str, str]) -> None:
    original, _ = seeds
    copy = text_signature(syndicated_copy(original))
    index = StoryIndex(window=timedelta(days=7))
    index.add("old", "a1", text_signature(original), NOW - timedelta(days=30))
    assert index.find(copy, NOW) is None
    index.add("recent", "a2", text_signature(original), NOW - timedelta(days=6))
    assert index.find(copy, NOW) == "recent"
    # A naive timestamp is taken as UTC rather than failing to compare.
    assert index.find(copy, NOW.replace(tzinfo=None)) == "recent"


def test_prune_forgets_old_articles(seeds: tuple[str, str]) -> None:
    original, other = seeds
    index = StoryIndex()
    index.add("s1", "a1", text_signature(original), NOW - timedelta(days=10))
    index.add("s2", "a2", text_signature(other), NOW)
    assert index.prune(NOW - timedelta(days=7)) == 1
    assert "a1" not in index and "a2" in index
    assert index.find(text_signature(original), NOW - timedelta(days=10)) is None


def test_the_most_similar_story_wins_and_readding_replaces(seeds: tuple[str, str]) -> None:
    original, other = seeds
    index = StoryIndex()
    index.add("copy-story", "a1", text_signature(syndicated_copy(original)), NOW)
    index.add("exact-story", "a2", text_signature(original), NOW)
    assert index.find(text_signature(original), NOW) == "exact-story"
    index.add("unrelated", "a2", text_signature(other), NOW)  # same article key: replaced
    assert len(index) == 2
    assert index.find(text_signature(original), NOW) == "copy-story"


def test_signatures_round_trip_through_bytes(seeds: tuple[str, str]) -> None:
    original, _ = seeds
    signature = text_signature(original)
    data = signature.to_bytes()
    # MH4: the text's 128 values, its shingle count, the lead's 64 values
    assert isinstance(data, bytes) and len(data) == 9 + 4 * 128 + 6 + 4 * 64
    restored = StorySignature.from_bytes(data)
    assert restored == signature
    assert (restored.shingles, restored.lead) == (signature.shingles, signature.lead)
    assert restored.shingles > 300 and restored.lead is not None
    assert restored.similarity(signature) == 1.0
    # A signature made later (a restarted process) still matches a stored one.
    index = StoryIndex()
    index.add("s", "a", restored, NOW)
    assert index.find(text_signature(syndicated_copy(original)), NOW) == "s"


def test_signatures_stored_in_the_wide_format_still_compare(seeds: tuple[str, str]) -> None:
    original, _ = seeds
    signature = text_signature(original)
    values = struct.unpack(f"<{NUM_PERM}I", mh3(signature)[9:])
    wide = b"MH2" + struct.pack("<HI", NUM_PERM, 1) + struct.pack(f"<{NUM_PERM}Q", *values)
    assert len(wide) == 9 + 8 * 128
    read = StorySignature.from_bytes(wide)
    assert read == StorySignature.from_bytes(mh3(signature))
    assert read.similarity(signature) == 1.0 and read.lead is None
    with pytest.raises(ValueError, match="out of range"):
        StorySignature.from_bytes(wide[:-8] + struct.pack("<Q", 1 << 40))


def test_band_keys_are_the_same_in_every_process(seeds: tuple[str, str]) -> None:
    original, _ = seeds
    script = ("import sys; from monitor.stories.signatures import text_signature; "
              "print(text_signature(sys.stdin.read()).band_keys(25, 5))")
    out = subprocess.run([sys.executable, "-c", script], input=original, text=True,
                         capture_output=True, check=True, timeout=60).stdout
    keys = text_signature(original).band_keys(25, 5)
    assert out.strip() == str(keys)
    assert len(set(keys)) == 25 and all(-(2**63) <= k < 2**63 for k in keys)


@pytest.mark.parametrize("data", [b"", b"MH1", b"XX1" + bytes(1030), b"MH1\x80\x00" + bytes(10),
                                  b"MH3\x80\x00\x01\x00\x00\x00" + bytes(4 * 127),
                                  # MH4 without its lead, or with a lead cut short
                                  b"MH4\x80\x00\x01\x00\x00\x00" + bytes(4 * 128),
                                  b"MH4\x80\x00\x01\x00\x00\x00" + bytes(4 * 128)
                                  + b"\x10\x00\x00\x00\x40\x00" + bytes(4 * 63)])
def test_malformed_signature_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a story signature"):
        StorySignature.from_bytes(data)


def test_texts_without_words_never_match() -> None:
    empty = text_signature("  ...  ")
    assert empty.empty
    index = StoryIndex()
    index.add("s", "a", empty, NOW)
    assert len(index) == 0
    assert index.find(text_signature("— !!"), NOW) is None
    assert index.find(empty, NOW) is None


def test_unspaced_scripts_are_compared_by_characters() -> None:
    text = "美国、以色列和卡塔尔在纽约举行闭门会议，讨论加沙停火协议的执行情况。" * 3
    edited = text.replace("闭门会议", "秘密会谈", 1)
    assert text_signature(text).similarity(text_signature(edited)) > 0.6
    other = text_signature("俄罗斯与乌克兰的和平计划仍在谈判中。")
    assert text_signature(text).similarity(other) < 0.1


@pytest.mark.parametrize("form", ["NFD", "NFKD"])
def test_a_copy_in_another_unicode_form_is_the_same_text(form: Literal["NFD", "NFKD"]) -> None:
    # Vietnamese sites write decomposed Unicode ("tổ hợp") as often as precomposed, and
    # Japanese ones full- or half-width digits and kana: the same words, other code points.
    # Decomposed, a combining mark split every accented word and the copy scored 0.0.
    import unicodedata

    texts = [
        "Thủ tướng Chính phủ vừa ký quyết định phê duyệt kế hoạch phát triển hạ tầng giao "
        "thông khu vực đồng bằng sông Cửu Long đến năm 2030. Tổng vốn đầu tư dự kiến khoảng "
        "hai trăm nghìn tỷ đồng, tập trung vào các tuyến cao tốc, cảng biển và sân bay.",
        "Le président de la République a annoncé mercredi une réforme des retraites qui sera "
        "présentée au Conseil des ministres la semaine prochaine; les syndicats ont dénoncé "
        "un projet précipité et appelé à une journée de grève générale.",
        "東京都は２０２５年度の予算案を発表した。総額は８兆円で、ﾃﾞｼﾞﾀﾙ化や子育て支援、"
        "防災対策に重点を置いた。ＪＲ各社も新たな事業計画を発表した。",
    ]
    for text in texts:
        copy = unicodedata.normalize(form, text)
        assert copy != text
        assert text_signature(copy) == text_signature(text), copy[:40]


@pytest.mark.parametrize("mark", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_invisible_marks_inside_words_do_not_change_the_text(mark: str) -> None:
    # Zero-width spaces and joiners, word joiners and soft hyphens that one outlet's CMS puts
    # inside long words (line-breaking hints; Persian and Indic text write joiners by habit,
    # or not) are invisible: the copy with them is the same text. They split every such word
    # in two and the copy scored about 0.5, a separate story alerting again.
    text = ("Pemerintah Indonesia mengumumkan kebijakan perdagangan internasional yang baru "
            "untuk memperkuat ketahanan pangan nasional, dengan pengawasan distribusi beras "
            "dan pembangunan infrastruktur pertanian di seluruh kabupaten.")
    words = [f"{w[:4]}{mark}{w[4:]}" if len(w) > 8 else w for w in text.split(" ")]
    copy = " ".join(words)
    assert copy != text
    assert text_signature(copy) == text_signature(text)


def test_banding_matches_the_usual_lsh_optimum() -> None:
    # datasketch's MinHashLSH picks the same splits by the same criterion.
    assert banding(0.5, 128) == (25, 5)
    assert banding(0.3, 128) == (37, 3)
    assert banding(0.8, 128) == (9, 13)


def test_removing_one_of_two_copies_keeps_the_other_findable(seeds: tuple[str, str]) -> None:
    original, other = seeds
    index = StoryIndex()
    index.add("s1", "a1", text_signature(original), NOW)
    index.add("s1", "a2", text_signature(syndicated_copy(original)), NOW)  # shares bands
    index.add("s2", "b1", text_signature(other), NOW)
    index.remove("a1")
    assert index.find(text_signature(original), NOW) == "s1"
    index.remove("a2")
    assert index.find(text_signature(original), NOW) is None
    assert index.find(text_signature(other), NOW) == "s2"
    index.remove("b1")
    assert len(index) == 0 and not any(index._buckets)


TEASER = "Mediators in Doha said the ceasefire talks would resume on Monday."


def test_a_short_text_has_an_exact_signature_of_its_title_and_text() -> None:
    sig = exact_signature("Ceasefire talks to resume", TEASER)
    assert sig is not None and not sig.empty and sig.num_perm == NUM_PERM
    # Case, punctuation, spacing and Unicode form are not the content.
    same = exact_signature("CEASEFIRE talks to resume!", "  mediators in Doha said: the "
                           "ceasefire talks would resume on Monday...")
    assert same is not None and sig.similarity(same) == 1.0 and same == sig
    assert StorySignature.from_bytes(sig.to_bytes()) == sig  # stored like any other
    index = StoryIndex()
    index.add("short", "a1", sig, NOW)
    assert index.find(same, NOW + timedelta(hours=3)) == "short"
    # Another text, or the same text under another title, or the title's words moved into the
    # text, is something else.
    others = [exact_signature("Ceasefire talks to resume", TEASER.replace("Monday", "Tuesday")),
              exact_signature("Harbour reopens", TEASER),
              exact_signature("Ceasefire talks", "to resume " + TEASER)]
    for other in others:
        assert other is not None and sig.similarity(other) < 0.1
        assert index.find(other, NOW) is None


def test_a_title_only_item_has_no_exact_signature() -> None:
    assert exact_signature("Morning briefing", "") is None
    assert exact_signature("Morning briefing", "  \n ") is None
    assert exact_signature("Morning briefing", "— !!") is None
    assert exact_signature("Morning briefing", "Morning Briefing.") is None  # the title again


def test_an_exact_signature_never_matches_a_long_texts(seeds: tuple[str, str]) -> None:
    original, _ = seeds
    teaser = original[:150]
    short = exact_signature("Gaza", teaser)
    assert short is not None
    assert short.similarity(text_signature(original)) < 0.1
    assert short.similarity(text_signature(teaser)) < 0.1
    # The element is never a text's shingle: "a" + "b c" is not the shingle "a b c".
    three = exact_signature("Gaza", "ceasefire talks")
    assert three is not None and three.similarity(text_signature("Gaza ceasefire talks")) == 0.0
    index = StoryIndex()
    index.add("long", "a1", text_signature(original), NOW)
    assert index.find(short, NOW) is None
    index.add("short", "b1", short, NOW)
    assert index.find(text_signature(original), NOW) == "long"


@pytest.mark.parametrize(("text", "digest"), [
    ("Negotiators met again on Sunday in a closed session about the harbour.",
     "32240d3b8d97b3b2893ca33894e6fa07"),
    ("two words", "e279715ac1864493fc7921cf5dc162ee"),
    ("人民日报 报道", "c428d6fc356d13c3e8820e536d8db426"),
])
def test_signatures_are_datasketchs_affine32_values_bit_for_bit(text: str, digest: str) -> None:
    # Digests of the signatures datasketch 1.x's MinHash (scheme affine32, seed 1) made before
    # the numpy code replaced it: stored signatures must keep comparing with new ones.
    import hashlib
    assert hashlib.sha256(mh3(text_signature(text))).hexdigest()[:32] == digest


def test_a_long_text_is_signed_in_bounded_memory() -> None:
    # A feed's full-text content (signed in the daemon) or a long page (signed in an
    # extraction worker capped at 512 MB) can hold megabytes of text: one array of every
    # shingle by every permutation took 220 MB for 1.4 MB of text and 1.1 GB for 7 MB (a
    # MemoryError in the worker, which lost the page's text with it).
    import hashlib
    import random
    import tracemalloc

    rng = random.Random(7)
    vocabulary = ["".join(rng.choice("abcdefghijklmnoprstuw") for _ in range(rng.randint(3, 9)))
                  for _ in range(5000)]
    text = " ".join(rng.choice(vocabulary) for _ in range(100_000))  # 0.7 MB
    tracemalloc.start()
    try:
        signature = text_signature(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"{peak / 2**20:.0f} MB to sign {len(text):,} characters"
    # The values are those of the whole text at once, bit for bit (the pinned digests above
    # hold the scheme; this holds the chunking).
    assert hashlib.sha256(mh3(signature)).hexdigest()[:32] == (
        hashlib.sha256(_unchunked_signature(text)).hexdigest()[:32])


def _unchunked_signature(text: str) -> bytes:
    """The signature as computed before it was chunked: every shingle hash at once."""
    import zlib

    import numpy as np

    from monitor.stories.minhash import SEED, permutations, words
    from monitor.stories.signatures import _HEADER

    tokens = words(text)
    hashes = list({zlib.crc32(f"{a} {b} {c}".encode())
                   for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False)})
    a, b = permutations(NUM_PERM)
    h = np.array(hashes, dtype=np.uint32).reshape(-1, 1)
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    h = h ^ (h >> np.uint32(16))
    values: bytes = (h * a + b).min(axis=0).astype("<u4").tobytes()
    return _HEADER.pack(b"MH3", NUM_PERM, SEED) + values


def mh3(signature: StorySignature) -> bytes:
    """The signature's whole-text values in the ``MH3`` encoding (without its lead)."""
    return b"MH3" + signature.to_bytes()[3:9 + 4 * NUM_PERM]


def test_title_keys_name_a_headline_with_or_without_its_outlet() -> None:
    from monitor.stories.signatures import title_keys

    plain = title_keys("AS, Israel dan Qatar bertemu di New York")
    assert len(plain) == 1
    for suffixed in ("AS, Israel dan Qatar bertemu di New York - detikNews",
                     "AS, ISRAEL dan Qatar bertemu di  New York | ANTARA News",
                     "AS, Israel dan Qatar bertemu di New York \u2014 Kompas.com"):
        keys = title_keys(suffixed)
        assert len(keys) == 2 and plain[0] in keys
    # A short headline names no one story, and a dash inside a headline is not an outlet's.
    assert title_keys("Live updates - BBC News") == []
    assert title_keys("Gaza ceasefire - what we know so far about the deal") == title_keys(
        "gaza ceasefire what we know so far about the deal")

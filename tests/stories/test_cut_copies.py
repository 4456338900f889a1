"""Copies cut short (a paywall, an aggregator's lead) are the story they were cut from."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from monitor.stories.lsh import banding
from monitor.stories.signatures import (
    LEAD_BANDS,
    LEAD_PERM,
    LEAD_ROWS,
    MIN_STORY_TEXT_CHARS,
    StorySignature,
    cut_copy,
    same_story,
    text_signature,
)
from tests.stories.test_signatures import SEED_000, SEED_004, syndicated_copy

PAYWALL = "Artikel ini khusus untuk pelanggan. Berlangganan untuk membaca selengkapnya."


@pytest.fixture(scope="module")
def seeds(shared_dir: Path) -> tuple[str, str]:
    """The two seed files: a section line, the headline, a blank line, then the text."""
    return ((shared_dir / SEED_000).read_text(encoding="utf-8"),
            (shared_dir / SEED_004).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bodies(shared_dir: Path) -> list[str]:
    root = shared_dir / "corpora" / "article-extraction-benchmark"
    return [item["articleBody"] for _, item in sorted(
        json.loads((root / "ground-truth.json").read_text(encoding="utf-8")).items())]


def paragraphs(text: str) -> list[str]:
    return [line for line in text.splitlines()[3:] if line.strip()]  # past the seed's header


def body(seed: str) -> str:
    """The seed's article text, as extraction gives it (without the headline)."""
    return "\n".join(paragraphs(seed))


def first_words(text: str, count: int) -> str:
    return " ".join(text.split()[:count])


@pytest.mark.parametrize("kept", [1, 2, 4])
def test_the_first_paragraphs_behind_a_paywall_are_the_story(seeds: tuple[str, str],
                                                             kept: int) -> None:
    original, _ = seeds
    cut = "\n".join([*paragraphs(original)[:kept], PAYWALL])
    whole, part = text_signature(body(original)), text_signature(cut)
    assert part.similarity(whole) < 0.5  # too little of the text for the Jaccard test
    assert cut_copy(part, whole) and cut_copy(whole, part)
    assert same_story(part, whole) == 0.0  # joins, ranked below any whole copy
    # Cut from another outlet's copy (its own opening line, credit dropped, edits) too.
    copy = syndicated_copy(original).splitlines()
    assert same_story(text_signature("\n".join(copy[:1 + kept])), whole) is not None


def test_a_cut_copy_shares_lead_band_keys_with_its_original(seeds: tuple[str, str]) -> None:
    original, _ = seeds
    whole = text_signature(body(original))
    part = text_signature("\n".join([*paragraphs(original)[:2], PAYWALL]))
    assert set(part.lead_band_keys()) & set(whole.lead_band_keys())
    assert not set(part.lead_band_keys()) & set(whole.band_keys(25, 5))  # numbered apart
    assert len(whole.lead_band_keys()) == LEAD_BANDS


def test_the_same_opening_over_another_text_is_another_story(seeds: tuple[str, str]) -> None:
    gaza, ukraine = seeds
    # A standing introduction, a template: the first paragraph shared, the rest not.
    mixed = "\n".join([paragraphs(gaza)[0], *paragraphs(ukraine)])
    assert same_story(text_signature(mixed), text_signature(body(gaza))) is None
    assert same_story(text_signature(body(gaza)), text_signature(body(ukraine))) is None


def test_the_leads_band_split_is_the_lsh_optimum() -> None:
    assert banding(0.5, LEAD_PERM) == (LEAD_BANDS, LEAD_ROWS)


def test_signatures_without_a_lead_are_never_cut_copies(seeds: tuple[str, str]) -> None:
    original, _ = seeds
    whole = text_signature(body(original))
    part = text_signature(paragraphs(original)[0])
    assert cut_copy(part, whole)
    old = StorySignature.from_bytes(b"MH3" + part.to_bytes()[3:9 + 4 * 128])  # stored before
    assert old.lead is None and old.lead_band_keys() == []
    assert not cut_copy(old, whole) and same_story(old, whole) is None


def test_no_two_benchmark_articles_are_one_story_or_a_cut(bodies: list[str]) -> None:
    signatures = [text_signature(text) for text in bodies]
    joined = [(i, j) for (i, one), (j, other) in itertools.combinations(enumerate(signatures), 2)
              if same_story(one, other) is not None]
    assert joined == []


@pytest.mark.parametrize(("words", "share"), [(50, 0.9), (120, 0.97), (300, 0.97)])
def test_benchmark_articles_cut_short_find_their_whole(bodies: list[str], words: int,
                                                       share: float) -> None:
    """Each of the 181 articles long enough, cut after ``words`` words, with a dateline the
    whole did not have: most are found (measured: 50 words 94 %, 120 and 300 all)."""
    pairs = [(text_signature(f"JAKARTA, KOMPAS.com - {first_words(text, words)}"),
              text_signature(text))
             for text in bodies if len(text.split()) >= 1.5 * words]
    assert len(pairs) > 100
    assert all(len(first_words(text, words)) >= MIN_STORY_TEXT_CHARS
               for text in bodies if len(text.split()) >= 1.5 * words)
    found = sum(same_story(part, whole) is not None for part, whole in pairs)
    assert found >= share * len(pairs), f"{found} of {len(pairs)}"

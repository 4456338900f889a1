"""Language detection on short texts, and how rules' ``languages:`` filters use it.

Measured on the seed articles cut into sentences (58 sentences of 20+ characters): 51 are
detected as Indonesian, 5 as Malay, and the two photo credits ("ANTARA/Xinhua/Hu Yousong/aa.")
as Finnish. Counting Malay as a plausible Indonesian guess (rules accept it, see
language_matches) that is 56/58, 97%; whole articles are recognised. Short English news
sentences are all recognised.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from monitor.language import (
    article_language,
    detect_language,
    language_matches,
    plausible,
    short_text_guesses,
    trusted_language,
    written_in,
)

ENGLISH = [
    "Qatar and Egypt urged a ceasefire in Gaza on Sunday.",
    "The United States and Russia held secret talks on a peace plan for Ukraine.",
    "Steve Witkoff hosted the meeting at the White House.",
    "Israel sent the head of the Mossad, David Barnea, to New York.",
    "Trump said the war was pointless and should end now.",
    "Officials from both countries described the consultations as intensive.",
    "The plan has 28 points and covers security guarantees for Europe.",
    "Zelensky's meeting with the envoy in Turkey was postponed.",
    "Markets rallied as oil prices fell for a third day.",
    "The prime minister apologised for the strike on Doha.",
    "Hamas and Israel accused each other of breaking the truce.",
    "A senior official said the document could still be adjusted.",
]


@pytest.fixture(scope="module")
def seed_texts(request: pytest.FixtureRequest, repo_root: Path) -> list[str]:
    folder = repo_root / "seeds" / "articles"
    if not sorted(folder.glob("*.txt")):
        folder = request.getfixturevalue("shared_dir") / "seeds"
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("0*.txt"))]


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [s.strip() for s in parts if len(s.strip()) >= 20]


def test_indonesian_seed_sentences_are_detected_as_indonesian_or_malay(
        seed_texts: list[str]) -> None:
    found = Counter(detect_language(s) for text in seed_texts for s in sentences(text))
    total = sum(found.values())
    indonesian = found["id"] + found["ms"]
    assert total >= 50
    assert indonesian / total >= 0.95, found
    assert found["id"] / total >= 0.8, found


def test_whole_seed_articles_are_indonesian(seed_texts: list[str]) -> None:
    assert [detect_language(text) for text in seed_texts] == ["id", "id"]


def test_short_english_sentences_are_english() -> None:
    assert [detect_language(s) for s in ENGLISH] == ["en"] * len(ENGLISH)


def test_text_without_letters_has_no_language() -> None:
    assert detect_language("") is None
    assert detect_language("2025 — 28/11 ★") is None


def test_filters_trust_declared_languages_and_allow_for_detection_confusion() -> None:
    wanted = frozenset({"id"})
    assert language_matches(frozenset(), None, detected=True)  # no filter
    assert language_matches(wanted, "id", detected=False)
    assert not language_matches(wanted, "ms", detected=False)  # declared: exactly
    assert language_matches(wanted, "ms", detected=True)  # detected: Malay may be Indonesian
    assert not language_matches(wanted, "en", detected=True)
    assert not language_matches(wanted, None, detected=True)  # unknown passes no filter


RUSSIAN = ("Переговоры о мирном плане для Украины продолжились в Женеве; Стив Уиткофф "
           "и Кирилл Дмитриев обсудили 28 пунктов документа.")
ARABIC = "قالت مصادر إن المفاوضات بشأن وقف إطلاق النار في غزة استؤنفت في الدوحة يوم الأحد."
JAPANESE = "カタールはドーハで次回の停戦交渉を主催すると発表した。"


def test_a_declared_language_stands_only_for_a_text_in_its_script() -> None:
    assert written_in("en", ENGLISH[0]) and written_in("en", "Café crème’s “naïve” façade")
    assert written_in("ru", RUSSIAN) and written_in("uk", RUSSIAN)  # one script: both fit
    assert not written_in("en", RUSSIAN) and not written_in("ru", ENGLISH[0])
    assert written_in("ar", ARABIC) and not written_in("en", ARABIC)
    assert written_in("ja", JAPANESE) and not written_in("ru", JAPANESE)
    # Names in another script inside the text's own do not outweigh it.
    assert written_in("ru", "Встреча в Белом доме: Steve Witkoff, Kirill Dmitriev, "
                            "Jared Kushner и представители Украины обсудили план.")
    # Too few letters to doubt a declaration; languages of two scripts, or unlisted.
    assert written_in("ru", "NATO 2025") and written_in("en", "Москва")
    assert written_in("sr", ENGLISH[0]) and written_in("kk", "Қазақстан") and written_in(
        "sr", RUSSIAN)
    # The text beyond what detection reads is not looked at either.
    assert written_in("ru", RUSSIAN * 10 + ENGLISH[0] * 100)


def test_an_english_declaration_needs_englishs_commonest_words(seed_texts: list[str]) -> None:
    # A CMS's default "en-US" on an Indonesian outlet's pages: the seeds are Indonesian.
    assert [plausible("en", text) for text in seed_texts] == [False, False]
    assert [article_language("", text, "en-US") for text in seed_texts] == [("id", True)] * 2
    assert plausible("id", seed_texts[0])  # declared right: trusted, nothing detected
    assert plausible("en", " ".join(ENGLISH))
    # A headline or teaser drops "the": too few words to doubt the declaration.
    assert plausible("en", "Qatar, Egypt urge Gaza ceasefire as mediators meet in Cairo")
    assert plausible("en", seed_texts[0][:150])


def test_an_article_declared_in_a_language_whose_script_it_lacks_is_detected() -> None:
    assert article_language("", RUSSIAN, "en-US") == ("ru", True)
    assert article_language("Gaza", ARABIC, "en") == ("ar", True)
    assert article_language("", RUSSIAN, "ru") == ("ru", False)
    assert article_language("", ENGLISH[1], "ua") == ("en", True)  # "ua": read as uk
    assert article_language("", ENGLISH[1], None) == ("en", True)
    assert trusted_language(RUSSIAN, "en", None, "ru-RU") == "ru"  # the first that fits
    assert trusted_language(RUSSIAN, "en", "zz") is None


def test_the_compact_model_scores_exactly_as_py3langids_own(seed_texts: list[str]) -> None:
    # monitor.language keeps the byte DFA in blocks (~30 MB less memory); every score of
    # every language must stay the one py3langid's own identifier gives.
    import random

    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from monitor.language import _get_identifier
    own, compact = LanguageIdentifier.from_model_file(MODEL_FILE), _get_identifier()
    rng = random.Random(7)
    samples: list[str | bytes] = [*ENGLISH, "", "123", "ABC DEF", "Ünïcödé ñ 東京 Москва"]
    samples += [text[i:i + 600] for text in seed_texts for i in range(0, len(text), 600)]
    samples += [bytes(rng.randrange(256) for _ in range(300)) for _ in range(50)]
    samples += ["".join(chr(rng.randrange(32, 0x3000)) for _ in range(200)) for _ in range(50)]
    for sample in samples:
        assert compact.rank(sample) == own.rank(sample)


def test_a_full_temporary_directory_does_not_stop_the_model_loading(
        seed_texts: list[str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """py3langid unpacks its 68 MB model into a temporary file: a full or read-only temporary
    directory failed every command that detects languages (the daemon at start-up, with a
    traceback). The model is then unpacked in memory, to the same scores."""
    import tempfile

    from monitor import language

    def full(*args: object, **kwargs: object) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    with caplog.at_level("WARNING", logger="monitor.language"):
        unpacked = language._read_identifier()
    assert "unpacked in memory instead" in caplog.text
    assert "No space left on device" in caplog.text
    loaded = language._get_identifier()
    for sample in [*ENGLISH, "", "Москва", *(text[:600] for text in seed_texts)]:
        assert unpacked.rank(sample) == loaded.rank(sample)


@pytest.mark.parametrize(("title", "detected", "wanted"), [
    ("Qatar pushes Gaza truce", "ha", "en"),  # py3langid's guesses on these titles alone
    ("Zelensky: plan Trump", "sk", "en"),
    ("Переговори у Женеві", "sr", "uk"),
    ("Путин принял Уиткоффа", "bg", "ru"),
])
def test_a_title_alone_passes_a_filter_of_a_language_ranked_close_to_the_guess(
        title: str, detected: str, wanted: str) -> None:
    assert detect_language(title) == detected  # the guess is wrong...
    assert not language_matches(frozenset({wanted}), detected, detected=True)
    guesses = short_text_guesses(title, "")
    assert guesses is not None and wanted in guesses  # ...and the right one is close
    assert language_matches(frozenset({wanted}), detected, detected=True, guesses=guesses)
    assert not language_matches(frozenset({"ar"}), detected, detected=True, guesses=guesses)
    # a declared language is no guess: exactly as declared
    assert not language_matches(frozenset({wanted}), detected, detected=False,
                                guesses=guesses)


def test_a_clear_guess_or_a_text_with_a_body_is_trusted() -> None:
    english = "Israeli forces struck Gaza although a ceasefire had been agreed by both sides."
    guesses = short_text_guesses(english, "")
    assert guesses is not None and "id" not in guesses and "en" in guesses
    body = "Qatar and Egypt urged a ceasefire in Gaza on Sunday, officials said. " * 2
    assert short_text_guesses("Gaza", body) is None

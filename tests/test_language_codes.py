"""Language codes: normalised to their primary subtag, checked against ISO 639-1."""

from __future__ import annotations

import pytest

from monitor.language_codes import ISO_639_1, language_problem, normalize_language


@pytest.mark.parametrize(("code", "normal"), [
    ("en-US", "en"), ("EN", "en"), ("id_ID", "id"), (" id ", "id"), ("zh-Hans-CN", "zh"),
    ("en_US.UTF-8", "en"), ("fil", "fil"), ("in", "id"), ("iw-IL", "he"), ("", None),
    ("x", None), ("english", None), (None, None), (42, None)])
def test_declared_codes_are_normalized(code: object, normal: str | None) -> None:
    assert normalize_language(code) == normal


@pytest.mark.parametrize(("code", "problem"), [
    ("english", "'english' is not a language code such as id or en"),
    ("zz", "'zz' is not an ISO 639-1 language code (id, en, ru, uk, ar...)"),
    ("xx-YY", "'xx-YY' is not an ISO 639-1 language code (id, en, ru, uk, ar...)"),
    ("id", None), ("pt-BR", None), ("in", None), ("fil", None),
])
def test_language_problems_in_words(code: str, problem: str | None) -> None:
    assert language_problem(code) == problem


def test_the_two_letter_codes_are_iso_639_1_and_cover_the_detector() -> None:
    babel = pytest.importorskip("babel")  # a dev dependency (make entities)
    cldr = {code for code in babel.Locale("en").languages if len(code) == 2}
    assert ISO_639_1 - cldr == {"bh"}  # withdrawn from CLDR, still in ISO 639-1
    assert cldr <= ISO_639_1
    from monitor.language import _get_identifier

    # every language the detector can answer passes the check (three-letter ones always do)
    two_letters = {c for c in _get_identifier().nb_classes if len(c) == 2}
    assert len(two_letters) > 50 and two_letters <= ISO_639_1

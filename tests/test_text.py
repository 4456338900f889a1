from monitor.text import clean_line, clean_text


def test_clean_text_removes_nul_controls_and_bidi_but_keeps_layout() -> None:
    assert clean_text("a\x00b\x01c\x1b[31md\u202ee\tf\ng") == "abc[31mde\tf\ng"


def test_clean_line_folds_line_breaks_so_a_title_cannot_add_a_header() -> None:
    assert clean_line("Title\r\nBcc: x@evil") == "Title Bcc: x@evil"


def test_lone_surrogates_become_replacement_characters() -> None:
    from monitor.text import clean_line, clean_text

    assert clean_text("a\ud83db\udc00") == "a\ufffdb\ufffd"
    assert clean_text("\U0001f600") == "\U0001f600"  # a real astral character is kept
    assert clean_line("t\ud83d\x00") == "t\ufffd"

from monitor.text import clean_line, clean_text


def test_clean_text_removes_nul_controls_and_bidi_but_keeps_layout() -> None:
    assert clean_text("a\x00b\x01c\x1b[31md\u202ee\tf\ng") == "abc[31mde\tf\ng"


def test_clean_line_folds_line_breaks_so_a_title_cannot_add_a_header() -> None:
    assert clean_line("Title\r\nBcc: x@evil") == "Title Bcc: x@evil"

"""A page's charset, named by its HTTP header or its own ``<meta>``, is applied before
trafilatura guesses (and a cut in the middle of a UTF-8 character does not send the whole page
to the guesser)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.extract.charset import declared_codec, decode_page, header_codec
from monitor.extract.extractor import extract_html
from tests.fetch_support import LocalServer, NetworkGuard, fetcher_for

RUSSIAN = ("Правительство России объявило о новых мерах поддержки малого бизнеса. Министр "
           "экономического развития заявил, что программа льготного кредитования будет "
           "расширена в следующем году. Эксперты считают, что это поможет предприятиям.")
ARABIC = ("أعلنت الحكومة المصرية اليوم عن حزمة جديدة من الإجراءات الاقتصادية لدعم الشركات "
          "الصغيرة والمتوسطة. وقال وزير المالية إن البرنامج سيشمل قروضا ميسرة وإعفاءات ضريبية.")
# Long ASCII script at both ends, as on most news pages: the guesser sees only those.
SCRIPT = "<script>var tracker = 'abcdefghij klmnop qrstuv wxyz 0123456789';</script>\n" * 100


def _page(text: str, meta: str) -> str:
    return (f"<!DOCTYPE html><html><head><title>News</title>{SCRIPT}{meta}</head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>Headline</h1><p>{text}</p>"
            f"<p>{text[::-1]}</p></article>{SCRIPT}</body></html>")


@pytest.mark.parametrize(("encoding", "text"), [
    ("windows-1251", RUSSIAN), ("koi8-r", RUSSIAN), ("windows-1256", ARABIC)])
@pytest.mark.parametrize("meta", ['<meta charset="{}">',
                                  '<meta http-equiv="Content-Type" content="text/html; '
                                  'charset={}">'])
def test_a_legacy_page_is_read_by_its_meta_charset(encoding: str, text: str,
                                                   meta: str) -> None:
    page = _page(text, meta.format(encoding)).encode(encoding)
    result = extract_html(page, "https://news.example/a")
    assert result is not None
    assert text[:60] in result.text
    assert "\ufffd" not in result.text


def test_declared_codec_reads_the_head_only() -> None:
    assert declared_codec(b'<head><meta charset="KOI8-R"></head>') == "koi8-r"
    assert declared_codec(b"<meta content='text/html; charset=iso-8859-1'>") == "cp1252"
    assert declared_codec(b'<meta charset="no-such-charset">') is None
    # A charset written in the article's text is not the page's declaration.
    assert declared_codec(b'<head></head><body><p><meta charset="koi8-r"></p>') is None


def test_utf8_is_left_to_trafilatura_and_a_cut_character_is_dropped() -> None:
    page = _page(RUSSIAN, '<meta charset="windows-1251">').encode()
    assert decode_page(page) is page  # valid UTF-8 wins over a stale declaration
    cut = page[:page.index("Правительство".encode()) + 3]  # inside the second letter
    decoded = decode_page(cut)
    assert isinstance(decoded, str) and decoded.endswith("П")


def test_an_undecodable_declaration_leaves_the_bytes() -> None:
    page = b'<head><meta charset="utf-8"></head><body>\xcf\xf0\xe8</body>'
    assert decode_page(page) is page


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with NetworkGuard(), LocalServer() as s:
        yield s


@pytest.mark.parametrize(("encoding", "text"), [
    ("windows-1251", RUSSIAN), ("koi8-r", RUSSIAN), ("windows-1256", ARABIC)])
def test_a_page_in_the_header_charset_is_extracted_without_mojibake(
        server: LocalServer, encoding: str, text: str) -> None:
    # No <meta>: only the HTTP header names the charset.
    server.route("/a", body=_page(text, "").encode(encoding),
                 headers={"Content-Type": f"text/html; charset={encoding}"})
    with fetcher_for(server) as fetcher:
        body = fetcher.fetch_page(server.url("/a"))
    result = extract_html(body.content, body.url, content_type=body.content_type)
    assert result is not None
    assert text[:60] in result.text
    assert "\ufffd" not in result.text


def test_header_codec_labels() -> None:
    assert header_codec('text/html; charset="Windows-1251"') == "cp1251"
    assert header_codec("text/html;charset=ISO-8859-1") == "cp1252"  # as browsers read it
    assert header_codec("text/html; charset=x-unknown") is None
    assert header_codec("text/html; charset=utf\x00") is None  # codecs' ValueError, not Lookup
    assert header_codec("text/html") is None
    assert header_codec(None) is None


@pytest.mark.parametrize("content", [
    _page(RUSSIAN, "").encode("utf-8"),  # a UTF-8 page under a server's default charset
    b"\xef\xbb\xbf" + _page(RUSSIAN, "").encode("utf-8"),  # a byte-order mark outranks it
])
def test_pages_the_header_does_not_read_are_left_alone(content: bytes) -> None:
    assert decode_page(content, "text/html; charset=windows-1251") is content


def test_the_header_outranks_the_meta_and_a_failing_one_is_skipped() -> None:
    page = _page(RUSSIAN, '<meta charset="koi8-r">').encode("windows-1251")
    decoded = decode_page(page, "text/html; charset=windows-1251")
    assert isinstance(decoded, str) and RUSSIAN[:60] in decoded
    # Shift_JIS cannot decode these bytes: the <meta> charset is tried next.
    page = _page(RUSSIAN, '<meta charset="windows-1251">').encode("windows-1251")
    decoded = decode_page(page, "text/html; charset=shift_jis")
    assert isinstance(decoded, str) and RUSSIAN[:60] in decoded


@pytest.mark.parametrize("header", ["text/html; charset=ISO-8859-1", "text/html; charset=latin1"])
def test_a_meta_charset_outranks_a_servers_default_latin1(header: str) -> None:
    # Apache's AddDefaultCharset: the header names Latin-1 over a windows-1251 page, which
    # would decode (every byte does) into mojibake that no Cyrillic rule matches.
    page = _page(RUSSIAN, '<meta charset="windows-1251">').encode("windows-1251")
    decoded = decode_page(page, header)
    assert isinstance(decoded, str) and RUSSIAN[:60] in decoded
    # A Latin-1 page that says so, or says nothing more, is still read as Latin-1.
    french = "Le gouvernement a annoncé des mesures économiques. Ça coûte cher, dit-il."
    for meta in ('<meta charset="iso-8859-1">', ""):
        decoded = decode_page(_page(french, meta).encode("latin-1"), header)
        assert isinstance(decoded, str) and french in decoded
    # A <meta> naming UTF-8 over bytes that are not UTF-8 leaves the header in charge.
    decoded = decode_page(_page(french, '<meta charset="utf-8">').encode("latin-1"), header)
    assert isinstance(decoded, str) and french in decoded

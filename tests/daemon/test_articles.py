"""compose_article: which text, title, outlet and language an entry's article gets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.daemon.articles import compose_article, declared_language, recent_enough
from monitor.models import ExtractedText, FeedEntry
from monitor.store import FeedState
from tests.store_support import article

FEED = FeedState(id=1, url="https://news.example/feed.xml", name="Example Feed", language=None,
                 interval_seconds=900, etag=None, last_modified=None, last_full_fetch_at=None,
                 consecutive_failures=0)
PAGE_TEXT = " ".join(["Qatar offered to host the next round of talks in Doha."] * 6)
URL = "https://news.example/1"


def _entry(**fields: object) -> FeedEntry:
    values: dict[str, object] = {"key": "guid:1", "url": URL, "title": "Talks resume",
                                 "summary": "Mediators met again in Doha on Sunday."}
    values.update(fields)
    return FeedEntry(**values)  # type: ignore[arg-type]


def test_the_pages_text_and_outlet_win_over_the_feeds() -> None:
    page = ExtractedText(text=PAGE_TEXT, source="page", site_name="Example News", language="en")
    article, used = compose_article(FEED, _entry(), URL, page, None, None, min_text_chars=100)
    assert used is page and article.text == PAGE_TEXT
    assert (article.text_source, article.source_name, article.language) == (
        "page", "Example News", "en")
    assert article.title == "Talks resume" and article.error is None
    named = compose_article(FEED, _entry(source="ANTARA News"), URL, page, None, None,
                            min_text_chars=100)[0]
    assert named.source_name == "ANTARA News"  # the outlet the entry names comes first


UKRAINIAN = " ".join(["Катар запропонував провести наступний раунд переговорів у Досі."] * 6)
RUSSIAN = " ".join(["Катар предложил провести следующий раунд переговоров в Дохе."] * 6)
ARABIC = " ".join(["عرضت قطر استضافة الجولة المقبلة من المحادثات في الدوحة."] * 6)


def test_the_pages_language_is_stored_as_the_code_rules_use_or_else_detected() -> None:
    # The page's lang attribute as written: a region, a country code, no language at all.
    for text, written, stored in ((PAGE_TEXT, "en-US", "en"), (UKRAINIAN, "ua", "uk"),
                                  (PAGE_TEXT, "zz", "en"), (PAGE_TEXT, None, "en")):
        page = ExtractedText(text=text, source="page", language=written)
        article = compose_article(FEED, _entry(), URL, page, None, None, min_text_chars=100)[0]
        assert article.language == stored, written  # "zz" and None: detected (English)


def test_a_language_declared_for_a_text_in_another_script_is_detected_instead() -> None:
    # A CMS left at "en-US" on a Russian outlet's pages; a feed configured as English that
    # carries an Arabic article; the entry's "ru" on a Latin text.
    configured_en = FeedState(**{**FEED.__dict__, "language": "en"})
    for feed, entry_language, text, written, stored in (
            (FEED, None, RUSSIAN, "en-US", "ru"),
            (configured_en, None, ARABIC, None, "ar"),
            (configured_en, None, RUSSIAN, "ru", "ru"),  # the page's own, in the right script
            (FEED, "ru", PAGE_TEXT, None, "en"),
            (configured_en, None, UKRAINIAN, "uk", "uk")):
        page = ExtractedText(text=text, source="page", language=written)
        article = compose_article(feed, _entry(title="", language=entry_language), URL, page,
                                  None, None, min_text_chars=100)[0]
        assert article.language == stored, (feed.language, entry_language, written)
    # English, the default a CMS declares, is checked against its commonest words too: an
    # Indonesian page declared "en" is Indonesian. Other languages of one script are not
    # told apart: a Spanish page declared Portuguese stays Portuguese.
    indonesian = 2 * (
        "Pemerintah Indonesia menyambut baik tawaran Qatar untuk menjadi tuan rumah perundingan "
        "gencatan senjata. Menurut juru bicara Kementerian Luar Negeri, pertemuan itu akan "
        "digelar pekan depan dan dihadiri oleh perwakilan Amerika Serikat, Israel, dan Mesir. ")
    spanish = " ".join(["Catar se ofreció a acoger la próxima ronda de negociaciones en "
                        "Doha la semana que viene."] * 6)
    for text, written, expected in ((indonesian, "en-US", ("id", True)),
                                    (spanish, "pt", ("pt", False)),
                                    (PAGE_TEXT, "en", ("en", False))):
        page = ExtractedText(text=text, source="page", language=written)
        article = compose_article(FEED, _entry(), URL, page, None, None, min_text_chars=100)[0]
        assert (article.language, article.language_detected) == expected, written


def test_a_detected_language_reaches_the_rules_as_a_detection() -> None:
    """Detection takes short Indonesian for Malay: the rules' filters allow for that when the
    language was detected, also after the daemon stored the detected code in the article."""
    from monitor.rules import Rule, RuleBook, compile_rules

    malay_looking = " ".join(["Qatar menawarkan diri menjadi tuan rumah perundingan "
                              "berikutnya di Doha pada pekan depan."] * 6)
    page = ExtractedText(text=malay_looking, source="page", language="en-US")
    article = compose_article(FEED, _entry(), URL, page, None, None, min_text_chars=100)[0]
    assert (article.language, article.language_detected) == ("ms", True)
    matcher = compile_rules(RuleBook(rules=(
        Rule.from_query("doha", "Doha", languages=("id",)),)))
    assert [h.rule_id for h in matcher.match(article.document())] == ["doha"]
    declared = replace(article, language_detected=False)  # "ms" declared
    assert matcher.match(declared.document()) == []


def test_a_failed_page_gives_the_feeds_summary_and_keeps_its_error() -> None:
    article, used = compose_article(FEED, _entry(language="id"), URL, None, "server_error",
                                    None, min_text_chars=100)
    assert used is not None and used.source == "feed_summary"
    assert article.text == "Mediators met again in Doha on Sunday."
    assert (article.text_source, article.error) == ("feed_summary", "server_error")
    assert article.source_name == "Example Feed" and article.language == "id"


def test_a_feed_named_by_its_private_url_gives_its_articles_the_url_masked() -> None:
    """A feed listed without a name is named by its URL; a private feed's token then became
    the outlet of every article whose page names none, in alerts and on the pages."""
    private = "https://news.example/feed.xml?token=s3cretT0ken"
    feed = replace(FEED, url=private, name=private)
    article, _ = compose_article(feed, _entry(), URL, None, "server_error", None,
                                 min_text_chars=100)
    assert article.source_name == "https://news.example/feed.xml?token=****"


def test_a_short_page_gives_way_to_a_longer_summary_and_an_empty_entry_to_its_url() -> None:
    stub = ExtractedText(text="Subscribe.", source="page")
    article = compose_article(FEED, _entry(), URL, stub, None, None, min_text_chars=100)[0]
    assert article.text_source == "feed_summary"
    bare = compose_article(FEED, _entry(title="", summary=""), URL, None, "timeout_total", None,
                           min_text_chars=100)[0]
    assert bare.title == URL and bare.text == "" and bare.text_source == "feed_summary"


def test_the_declared_language_is_the_entrys_then_the_configured_then_the_feeds() -> None:
    configured = FeedState(**{**FEED.__dict__, "language": "ru"})
    assert declared_language(FEED, _entry(language="id"), "en") == "id"
    assert declared_language(configured, _entry(), "en") == "ru"
    assert declared_language(FEED, _entry(), "en") == "en"
    assert declared_language(FEED, _entry(), None) is None


def test_an_article_is_recent_enough_to_alert_within_max_article_age_or_undated() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    day = 86400.0
    dated = lambda moment: replace(article(), published=moment)  # noqa: E731
    assert recent_enough(dated(now - timedelta(days=3)), None, now)  # no limit: any date
    assert recent_enough(replace(article(), published=None), day, now)  # undated
    assert recent_enough(dated(now - timedelta(days=1)), day, now)  # the limit itself
    assert not recent_enough(dated(now - timedelta(days=1, seconds=1)), day, now)
    naive = (now - timedelta(hours=30)).replace(tzinfo=None)  # no offset: UTC
    assert not recent_enough(dated(naive), day, now)
    assert recent_enough(dated(naive), 2 * day, now)
    assert recent_enough(dated(now + timedelta(days=400)), day, now)  # dated ahead: alerts

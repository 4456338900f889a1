"""Rendering alerts and digests: fields, escaping per format and target, template safety."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.delivery.markup import ZWSP, escape_markdown, safe_link, title_heading, truncate
from monitor.delivery.render import RenderedMessage, render_alert, render_digest, template_problem
from monitor.models import Alert, Evidence

FORMATS = ("text", "markdown", "html")
RESERVED = "_*[]()~`>#+-=|{}.!"


def make_alert(
    title: str = "Ceasefire talks resume in Doha",
    snippets: tuple[str, ...] = ("Negotiators said the ceasefire could hold",),
    url: str = "https://news.example/story?id=1&x=2",
    **extra: object,
) -> Alert:
    evidence = (
        *(Evidence(term="ceasefire", matched="ceasefire", field="body", start=0, end=9,
                   snippet=s, entity=None) for s in snippets),
        Evidence(term="@qatar", matched="Doha", field="title", start=23, end=27,
                 snippet="talks resume in Doha", entity="Qatar"),
    )
    fields: dict[str, object] = {
        "notification_id": 1, "channel": "team", "rule_id": "gaza", "rule_name": "Gaza truce",
        "title": title, "url": url, "source": "Example Wire",
        "published": datetime(2026, 3, 4, 5, 6, tzinfo=UTC), "language": "en",
        "evidence": evidence, "story_size": 4, "also_reported_by": ("Wire A", "Wire B", "Wire C"),
    }
    fields.update(extra)
    return Alert(**fields)  # type: ignore[arg-type]


def shown(message: RenderedMessage) -> str:
    """What a reader sees: the title (as a title-less chat shows it, escaped), then the body."""
    return title_heading(message.title, message.format) + message.body


def render(alert: Alert, fmt: str = "text", target: str | None = None,
           template: str | None = None, max_chars: int = 4000) -> RenderedMessage:
    return render_alert(alert, format=fmt, template=template,  # type: ignore[arg-type]
                        max_chars=max_chars, target=target)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("br", "hr"):
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()


def html_tags(body: str) -> list[str]:
    parser = _Tags()
    parser.feed(body)
    parser.close()
    assert parser.stack == [], f"unclosed tags {parser.stack}"
    return parser.tags


# --------------------------------------------------------------------------- content


@pytest.mark.parametrize("fmt", FORMATS)
def test_builtin_template_shows_every_field(fmt: str) -> None:
    message = render(make_alert(), fmt)
    body = shown(message)
    assert message.format == fmt
    assert message.title == "[Gaza truce] Ceasefire talks resume in Doha"
    for expected in ("Gaza truce", "Example Wire", "2026", "05:06 UTC", "en", "Doha",
                     "Also reported by 3 outlets: Wire A, Wire B, Wire C"):
        assert expected in body.replace("\\", ""), (fmt, expected)
    link = "https://news.example/story?id=1&amp;x=2" if fmt == "html" else \
        "https://news.example/story?id=1&x=2"
    assert link in body
    highlight = {"text": "*ceasefire*", "markdown": "**ceasefire**", "html": "<b>ceasefire</b>"}
    assert highlight[fmt] in body
    assert not message.truncated
    if fmt == "html":
        html_tags(body)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_snippet_marks_matched_words_whole_not_inside_other_words(fmt: str) -> None:
    snippet = "Pejabat AS membahas rencana damai pasca pertemuan kelas atas"
    evidence = (Evidence(term="@us", matched="AS", field="body", start=8, end=10,
                         snippet=snippet, entity="us"),
                Evidence(term="@peace-plan", matched="rencana damai", field="body", start=20,
                         end=33, snippet=snippet, entity="peace-plan"))
    body = render(make_alert(evidence=evidence), fmt).body
    marked = {"text": r"\*([^*]+)\*", "markdown": r"\*\*([^*]+)\*\*", "html": r"<b>([^<]+)</b>"}
    line = next(line for line in body.splitlines() if "membahas" in line)
    assert re.findall(marked[fmt], line) == ["AS", "rencana damai"]


def test_a_regex_condition_s_match_is_marked_even_inside_a_word() -> None:
    snippet = "Hamas says the ceasefires hold"
    evidence = (Evidence(term="/cease/", matched="cease", field="body", start=15, end=20,
                         snippet=snippet),)
    body = render(make_alert(evidence=evidence), "html").body
    assert "the <b>cease</b>fires hold" in body


def test_story_size_wording_and_timezone() -> None:
    single = render(make_alert(story_size=1, also_reported_by=()))
    assert "Also reported" not in single.body
    one = render(make_alert(story_size=2, also_reported_by=("Wire A",)))
    assert "Also reported by 1 outlet: Wire A" in one.body
    many = render(make_alert(story_size=9, also_reported_by=tuple(f"W{i}" for i in range(8))))
    assert "Also reported by 8 outlets: W0, W1, W2, W3, W4 and 3 more" in many.body
    local = render_alert(make_alert(), format="text", template=None, max_chars=4000,
                         timezone="Asia/Jakarta")
    assert "2026-03-04 12:06 WIB" in local.body


def test_unsafe_article_link_is_shown_but_never_linked() -> None:
    alert = make_alert(url="javascript:alert(document.cookie)")
    html = render(alert, "html").body
    assert "href" not in html
    assert "javascript:alert(document.cookie)" in html
    assert safe_link("data:text/html,<script>") is None
    assert safe_link('https://x.test/a b"<>') == "https://x.test/a%20b%22%3C%3E"


# --------------------------------------------------------------------------- hostile text


def test_sec_F1_jinja_syntax_in_feed_text_is_rendered_literally(tmp_path: Path) -> None:
    marker = tmp_path / "pwn"
    payload = ("{{ cycler.__init__.__globals__.os.popen('touch " + str(marker)
               + "').read() }}")
    # A product no path or date contains (the marker's tmp path once held "pytest-49").
    raw = "{% raw %}{{ 1234*1000 }}{% endraw %} {% for x in range(9) %}x{% endfor %}"
    pwn_before = Path("/tmp/pwn").exists()
    alert = make_alert(title=payload, snippets=(raw + " ceasefire",))
    for fmt in FORMATS:
        for template in (None, "{{ title }} / {{ snippets | join(' ') }}"):
            body = shown(render(alert, fmt, template=template))
            plain = body.replace("\\", "").replace("&#39;", "'")
            assert "cycler.__init__.__globals__.os.popen" in plain, fmt
            assert "{% raw %}{{ 1234*1000 }}{% endraw %}" in plain
            assert "1234000" not in body
    assert not marker.exists()
    assert Path("/tmp/pwn").exists() == pwn_before


def test_sec_F1_sandbox_refuses_attribute_tricks_in_operator_templates(tmp_path: Path) -> None:
    marker = tmp_path / "pwn"
    template = ("{{ cycler.__init__.__globals__.os.popen('touch " + str(marker)
                + "').read() }}")
    message = render(make_alert(), "text", template=template)
    assert not marker.exists()
    assert message.template_error is not None
    assert "SecurityError" in message.template_error
    assert "Gaza truce" in shown(message)  # built-in template used instead


@pytest.mark.parametrize("template", [
    "{{ 'a' * 50000000 }}",
    "{{ ['a'] * 50000000 }}",
    "{{ 'x'.center(999999999) }}",
    "{{ 'x' | center(999999999) }}",
    "{{ '%999999999s' % 'x' }}",
    "{{ '%*s' % (999999999, 'x') }}",
    "{{ '{:>999999999}'.format('x') }}",
    "{{ '{:>{w}}'.format('x', w=999999999) }}",
    "{{ 'ab' | replace('a', 'a' * 90000) | replace('a', 'a' * 90000) }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ 10 ** 100000000 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
    "{{ k }}{% endfor %}{% endfor %}{% endfor %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ lipsum(100000) }}",
])
def test_sec_F2_operator_template_bombs_are_aborted_or_cut(template: str) -> None:
    started = time.monotonic()
    message = render(make_alert(), "text", template=template)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0  # a bomb left to run takes minutes
    assert len(message.body) <= 4000
    assert len(message.body.encode()) <= 4096 + 16


def test_sec_F3_slack_markup_and_mentions_in_markdown_are_escaped() -> None:
    alert = make_alert(title="<!channel> <http://evil|Bank login> & <@U123> @here")
    body = shown(render(alert, "markdown", target="slack"))
    # CommonMark escapes; apprise turns \< into &lt; for Slack (checked on the payload in
    # test_notify).
    assert "\\<\\!channel\\>" in body
    assert "\\<http://evil\\|Bank login\\>" in body
    assert f"@{ZWSP}here" in body and f"<@{ZWSP}U123" in body.replace("\\", "")
    assert not re.search(r"(?<!\\)<[!@#]", body)


def test_sec_F4_markdown_escapes_every_telegram_v2_reserved_character() -> None:
    body = shown(render(make_alert(title=f"Prices {RESERVED} fall"), "markdown", "telegram"))
    assert "".join("\\" + c for c in RESERVED) in body
    assert escape_markdown(RESERVED) == "".join("\\" + c for c in RESERVED)
    assert escape_markdown("a\\b & &amp; <x>") == "a\\\\b & \\&amp; \\<x\\>"


def test_sec_F5_html_snippet_tags_are_dead() -> None:
    alert = make_alert(snippets=("<img src=x onerror=alert(1)> then <script>x</script> "
                                 "ceasefire",), title="<b onmouseover=x>bold</b>")
    body = render(alert, "html", "email").body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&lt;script&gt;" in body
    assert set(html_tags(body)) <= {"div", "p", "b", "br", "a", "ul", "li", "i"}


def test_sec_F6_subject_is_one_line() -> None:
    message = render(make_alert(title="Truce\r\nBcc: attacker@evil.test\nX: y\u2028z"), "html",
                     "email")
    assert "\r" not in message.title and "\n" not in message.title
    assert "\u2028" not in message.title
    assert message.title == "[Gaza truce] Truce Bcc: attacker@evil.test X: y z"
    long = render(make_alert(title="word " * 200)).title
    assert len(long) <= 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_sec_F7_mass_mentions_are_defused_for_chat_targets(fmt: str) -> None:
    alert = make_alert(title="@everyone @here <@123> <@&456> <@!789> @channel",
                       snippets=("@everyone ceasefire @Qatar",))
    for target in ("discord", "slack", "telegram", None):
        message = render(alert, fmt, target)
        for text in (message.title, message.body):
            plain = text.replace("\\", "").replace("&lt;", "<")
            assert not re.search(r"@(everyone|here|channel)\b", plain), (target, fmt)
            assert not re.search(r"<@[!&]?\d+>", plain)
            assert not re.search(r"@\w", plain)  # no '@name' ping either
    mail = render(make_alert(title="@everyone write to desk@news.test"), fmt, "email")
    assert f"@{ZWSP}everyone" in mail.title
    assert "desk@news.test" in mail.title  # addresses intact in mail


def test_sec_D2_controls_and_bidi_overrides_are_removed() -> None:
    alert = make_alert(title="Safe\x00\x1b[31m \u202eevil\u2066 \x85done",
                       snippets=("ceasefire\x07 \u202dheld",))
    for fmt in FORMATS:
        message = render(alert, fmt)
        for text in (message.title, message.body):
            assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]",
                                 text)


def test_discord_and_markdown_chats_always_get_markdown() -> None:
    alert = make_alert(title="[Bank login](http://evil) **x**")
    for fmt in FORMATS:
        message = render(alert, fmt, "discord")
        assert message.format == "markdown"
        assert "\\[Bank login\\]\\(http://evil\\)" in shown(message)


# --------------------------------------------------------------------------- lengths


@pytest.mark.parametrize(("target", "limit"), [("telegram", 4096), ("discord", 2000),
                                                ("slack", 4000), (None, 4000), ("email", 1500)])
@pytest.mark.parametrize("fmt", FORMATS)
def test_length_caps_per_target(fmt: str, target: str | None, limit: int) -> None:
    snippets = tuple(f"ceasefire <&> {i} " + "word & <tag> " * 150 for i in range(8))
    alert = make_alert(title="T & <b>" * 30, snippets=snippets)
    message = render(alert, fmt, target, max_chars=1500 if target == "email" else 4000)
    body = message.body
    wire = len(body)
    if fmt == "text" and target in ("slack", "telegram"):
        wire = len(body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    if target in ("telegram", "discord"):
        wire += len(message.title) * 2 + 12
    assert wire <= limit
    assert "Gaza truce" in shown(message)  # the head of the message survives
    if message.format == "html":
        html_tags(body)
    if message.format == "markdown" and body.endswith("…"):
        stem = body[:-1]
        assert (len(stem) - len(stem.rstrip("\\"))) % 2 == 0  # no dangling escape


def test_truncate_never_splits_tags_entities_or_escapes() -> None:
    html = "<p><b>" + "a &amp; b " * 100 + "</b></p>"
    for size in range(40, 200, 7):
        cut = truncate("", html, "html", None, size)
        assert len(cut) <= size
        html_tags(cut)
        assert not re.search(r"&[a-z]*…", cut)
    markdown = "\\*" * 100
    for size in range(5, 60):
        cut = truncate("", markdown, "markdown", None, size)
        assert not re.search(r"(?<!\\)(\\\\)*\\…$", cut)


# --------------------------------------------------------------------------- templates


def test_operator_template_gets_data_escaped_for_the_format() -> None:
    template = "<p>{{ rule }}: {{ title }} — {{ link }}</p>{{ snippets | join('') }}"
    alert = make_alert(title="A <i>b</i> & c")
    html = render(alert, "html", template=template).body
    assert "A &lt;i&gt;b&lt;/i&gt; &amp; c" in html
    assert '<a href="https://news.example/story?id=1&amp;x=2">' in html
    markdown = render(alert, "markdown", template="**{{ title }}** {{ link }}").body
    assert markdown == "**A \\<i\\>b\\</i\\> & c** <https://news.example/story?id=1&x=2>"
    text = render(alert, "text", template="{{ title | upper }}").body
    assert text == "A <I>B</I> & C"


def test_broken_operator_template_falls_back_to_builtin() -> None:
    message = render(make_alert(), "text", template="{{ title ")
    assert message.template_error is not None
    assert "Gaza truce" in shown(message)
    assert template_problem("{% for x in %}") == (
        "not a valid template: Expected an expression, got 'end of statement block' "
        "(template line 1)")
    assert template_problem("{{ title }} {% for s in snippets %}{{ s }}{% endfor %}") is None


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        render(make_alert(), "rtf")


# --------------------------------------------------------------------------- digests


@pytest.mark.parametrize("fmt", FORMATS)
def test_digest_lists_every_alert(fmt: str) -> None:
    alerts = [make_alert(title=f"Story {i}", rule_name=f"Rule {i % 2}") for i in range(3)]
    message = render_digest(alerts, format=fmt, template=None, max_chars=4000)  # type: ignore[arg-type]
    assert message.title == "[newsmonitor] 3 alerts: Rule 0, Rule 1"
    for i in range(3):
        assert f"Story {i}" in message.body
    assert "3 new alerts" in message.body
    if fmt == "html":
        html_tags(message.body)


@pytest.mark.parametrize("fmt", FORMATS)
def test_digest_keeps_whole_items_and_counts_the_rest(fmt: str) -> None:
    alerts = [make_alert(title=f"Story {i} " + "x" * 150) for i in range(60)]
    message = render_digest(alerts, format=fmt, template=None,  # type: ignore[arg-type]
                            max_chars=4000, target="discord")
    assert len(message.body) + len(message.title) * 2 + 12 <= 2000
    shown = len(re.findall(r"Story \d+", message.body))
    assert 1 <= shown < 60 and message.items == shown  # the dispatcher sends the rest next
    assert re.search(rf"and {60 - shown} more", message.body)


def test_digest_with_operator_templates() -> None:
    alerts = [make_alert(title=f"Story {i}") for i in range(3)]
    per_item = render_digest(alerts, format="text", template="* {{ title }}",
                             max_chars=4000)
    assert per_item.body == "* Story 0\n\n----\n\n* Story 1\n\n----\n\n* Story 2"
    whole = render_digest(alerts, format="text", max_chars=4000,
                          template="{{ count }}: {% for a in alerts %}{{ a.title }};{% endfor %}")
    assert whole.body == "3: Story 0;Story 1;Story 2;"
    assert per_item.items == whole.items == 3
    many = [make_alert(title=f"Story {i} " + "x" * 150) for i in range(60)]
    cut = render_digest(many, format="text", template="* {{ title }}", max_chars=1000)
    # The item that went over is cut: it is sent again, whole, in the next message.
    assert 1 <= cut.items == len(re.findall(r"Story \d+ x{150}", cut.body)) < 60
    with pytest.raises(ValueError, match="at least one"):
        render_digest([], format="text", template=None, max_chars=4000)


def test_jinja2_is_imported_only_by_the_render_package(repo_root: Path) -> None:
    # Notification templates use the sandbox (users write them); the web view has its own
    # autoescaping environment for the pages we ship, in one module of its own.
    package = repo_root / "monitor"
    offenders = [
        str(path.relative_to(package)) for path in package.rglob("*.py")
        if re.search(r"^\s*(import jinja2|from jinja2)", path.read_text(), re.MULTILINE)
        and path.relative_to(package).parts[:2] != ("delivery", "render")
        and path.relative_to(package).as_posix() != "web/context.py"
    ]
    assert offenders == []


def test_alert_layout_one_header_grouped_terms_distinct_snippets() -> None:
    body_text = "The truce holds for now, officials in Doha said. Later the truce held again."
    evidence = (
        Evidence(term="hold", matched="holds", field="body", start=10, end=15,
                 snippet="The truce holds for now, officials in Doha said.", entity=None),
        Evidence(term="holds", matched="hold", field="body", start=200, end=204,
                 snippet="…talks hold in Cairo, where mediators met.", entity=None),
        Evidence(term="@qatar", matched="Doha", field="body", start=38, end=42,
                 snippet="The truce holds for now, officials in Doha said…", entity="Qatar"),
        Evidence(term="@qatar", matched="Qatar", field="title", start=0, end=5,
                 snippet="Qatar says truce holds", entity="Qatar"),
    )
    assert body_text  # the article the offsets come from
    alert = make_alert(title="Qatar says truce holds", evidence=evidence, story_size=2,
                       also_reported_by=("Wire A",))
    message = render(alert, "text", "console")
    assert message.title == "[Gaza truce] Qatar says truce holds"
    assert message.body == (
        "Example Wire | 2026-03-04 05:06 UTC | en\n"
        "https://news.example/story?id=1&x=2\n"
        "\n"
        "Matched: hold; Doha (Qatar)\n"
        "- The truce *holds* for now, officials in *Doha* said.\n"
        "- …talks *hold* in Cairo, where mediators met.\n"
        "\n"
        "Also reported by 1 outlet: Wire A")
    assert all(line == line.strip() for line in message.body.splitlines())


def test_words_two_terms_matched_are_listed_once() -> None:
    """"perjanjian damai" is a peace deal and a peace plan, and "Gaza" both a word of the
    query and an entity's alias: each is shown once, under the first that matched it."""
    def found(term: str, matched: str, start: int, entity: str | None) -> Evidence:
        return Evidence(term=term, matched=matched, field="body", start=start,
                        end=start + len(matched), snippet="…perjanjian damai Gaza…",
                        entity=entity)
    evidence = (found("@peace-deal", "perjanjian damai", 10, "peace-deal"),
                found("@peace-plan", "perjanjian damai", 10, "peace-plan"),
                found("@peace-plan", "rencana damai", 90, "peace-plan"),
                found("Gaza", "Gaza", 27, None), found("@gaza", "Gaza", 27, "gaza"),
                found("@gaza", "Jalur Gaza", 120, "gaza"))
    message = render(make_alert(evidence=evidence), "text", "console")
    assert ("Matched: perjanjian damai; rencana damai; Gaza; Jalur Gaza\n"
            in message.body), message.body


def test_html_mail_links_the_title_and_names_the_outlets() -> None:
    message = render(make_alert(), "html", "email")
    assert message.body.startswith(
        '<div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.4;'
        'color:#222;max-width:640px">\n<p dir="auto" style="margin:0 0 2px 0;font-size:16px;'
        'font-weight:bold"><a href="https://news.example/story?id=1&amp;x=2">Ceasefire talks '
        'resume in Doha</a></p>\n')
    # An Arabic or Hebrew title and passage read right to left in an English mail
    assert '<li dir="auto" style="margin:0 0 4px 0">' in message.body
    assert "Also reported by 3 outlets: Wire A, Wire B, Wire C</p>" in message.body
    assert "<style" not in message.body and "<table" not in message.body


# --------------------------------------------------------------------------- the web view


WEB = "https://news.example.org/monitor/"


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_alert_links_its_hit_in_the_web_view_when_public_url_is_set(fmt: str) -> None:
    alert = make_alert(hit_id=41)
    page = f"{WEB}hits/41"
    linked = render_alert(alert, format=fmt, template=None,  # type: ignore[arg-type]
                          max_chars=4000, web_url=WEB)
    assert "Evidence and feedback" in linked.body
    assert (f'<a href="{page}">' if fmt == "html" else page) in linked.body
    if fmt == "html":
        html_tags(linked.body)
    # without web.public_url, or without a hit (a test message), no link
    assert "Evidence and feedback" not in render(alert, fmt).body
    assert "Evidence and feedback" not in render_alert(
        make_alert(), format=fmt, template=None, max_chars=4000,  # type: ignore[arg-type]
        web_url=WEB).body
    # kept when snippets must go to fit
    tight = render_alert(make_alert(hit_id=41, snippets=("ceasefire " * 60,) * 5),
                         format=fmt, template=None, max_chars=1200,  # type: ignore[arg-type]
                         web_url=WEB)
    assert page in tight.body and not tight.truncated


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_digest_links_each_hit_and_templates_and_events_get_the_link(fmt: str) -> None:
    alerts = [make_alert(hit_id=7), make_alert(title="Second", hit_id=8)]
    digest = render_digest(alerts, format=fmt, template=None,  # type: ignore[arg-type]
                           max_chars=4000, web_url=WEB)
    assert f"{WEB}hits/7" in digest.body and f"{WEB}hits/8" in digest.body
    custom = render_alert(make_alert(hit_id=7), format=fmt,  # type: ignore[arg-type]
                          template="[{{ web_link }}]", max_chars=4000, web_url=WEB)
    linked = {"text": f"[{WEB}hits/7]", "markdown": f"[<{WEB}hits/7>]",
              "html": f'[<a href="{WEB}hits/7">{WEB}hits/7</a>]'}
    assert custom.body == linked[fmt]
    event = render_alert(make_alert(hit_id=7), format="text", template=None, max_chars=4000,
                         target="json", web_url=WEB).event
    assert event is not None and event["alert"]["web_url"] == f"{WEB}hits/7"
    plain = render_digest(alerts, format="text", template=None, max_chars=4000,
                          target="json").event
    assert plain is not None and [a["web_url"] for a in plain["alerts"]] == [None, None]

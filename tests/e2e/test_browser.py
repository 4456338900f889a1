"""The web view in a real browser: Debian's headless Chromium driven by Playwright.

Screenshots of every step are saved in the test's temporary folder. CI installs Chromium in
``.ci/run``; elsewhere these tests skip when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.web import WebServer, create_app
from tests.store_support import FakeClock
from tests.web_support import HOSTILE_TITLE, config, seeded_store

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ["/", "/stories/1", "/rules", "/search?q=Gaza", "/feeds", "/outbox"]

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (.ci/run)")
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{folder / 'monitor.db'}"
    from datetime import UTC, datetime
    store = seeded_store(url, FakeClock(datetime.now(UTC)))
    server = WebServer(create_app(config(folder, url, listen="127.0.0.1:0"), store),
                       config(folder, url, listen="127.0.0.1:0").web)
    server.start()
    yield server.url.rstrip("/")
    server.stop()
    store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def test_seed_stories_appear_with_highlights(site: str, page: Any, tmp_path: Path) -> None:
    page.goto(site + "/")
    assert page.get_by_role("link", name="Diplomasi Tingkat Tinggi", exact=False).count() >= 1
    assert page.get_by_text("AS dan Rusia Gelar Negosiasi Rahasia").count() >= 1
    assert page.locator("li.story mark").count() >= 4
    page.screenshot(path=str(tmp_path / "stories.png"), full_page=True)
    page.get_by_role("link", name="AS dan Rusia Gelar Negosiasi Rahasia").first.click()
    page.wait_for_url("**/stories/*")
    marked = page.locator("div.text mark").all_inner_texts()
    assert "Trump" in marked and "Witkoff" in marked
    page.screenshot(path=str(tmp_path / "story.png"), full_page=True)


def test_filters_and_search_work(site: str, page: Any, tmp_path: Path) -> None:
    page.goto(site + "/")
    page.get_by_label("Rule").select_option("ukraine-peace-plan")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**rule=ukraine-peace-plan**")
    assert page.locator("#story-count").inner_text() == "1 story"
    page.get_by_label("Language").select_option("en")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**language=en**")
    assert page.locator("#story-count").inner_text() == "0 stories"
    page.screenshot(path=str(tmp_path / "filtered.png"), full_page=True)
    page.goto(site + "/search")
    page.get_by_label("Query", exact=False).fill('@gaza AND (Qatar OR "New York")')
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=**")
    assert page.locator("#search-count").inner_text().startswith("2 articles match")
    assert page.locator("li.result mark").count() >= 2
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
    page.get_by_label("Query", exact=False).fill("damai")  # 1 article; with "perdamaian", 2
    page.get_by_label("Stem", exact=False).focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_url("**stem=true**")
    assert page.locator("#search-count").inner_text().startswith("2 articles match")
    assert page.get_by_label("Stem", exact=False).is_checked()


def test_feedback_survives_a_reload(site: str, page: Any, tmp_path: Path) -> None:
    page.goto(site + "/?rule=ukraine-peace-plan")
    story = page.locator("li.story").first
    with page.expect_navigation():
        story.get_by_role("button", name="Relevant", exact=True).click()
    page.reload()
    verdict = page.locator("li.story .verdict").first
    assert verdict.inner_text().strip() == "Marked relevant"
    page.goto(site + "/rules")
    assert "100%" in page.locator("#rule-ukraine-peace-plan").inner_text()
    page.screenshot(path=str(tmp_path / "feedback.png"), full_page=True)


def test_a_hostile_article_renders_inert(site: str, page: Any, tmp_path: Path) -> None:
    dialogs: list[str] = []
    outside: list[str] = []
    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request: Any) -> None:
        if not request.url.startswith(site):
            outside.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.goto(site + "/?language=en")
    title = page.locator("li.story h2").first
    assert HOSTILE_TITLE in title.inner_text()
    for path in [None, "/search?q=Hamas", "/feed.atom"]:
        if path is None:
            title.get_by_role("link").click()
            page.wait_for_url("**/stories/*")
        else:
            page.goto(site + path)
        injected = page.evaluate(
            "document.querySelectorAll('script, iframe, img, object, embed, svg[onload],"
            " [onerror], [onload], a[href^=\"javascript\"]').length")
        assert injected == 0
        page.screenshot(path=str(tmp_path / f"hostile{len(dialogs)}-{abs(hash(path))}.png"))
    assert dialogs == []
    assert outside == []


def test_keyboard_navigation(site: str, page: Any) -> None:
    page.goto(site + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(site + "/")
    for _ in range(4):  # skip link, brand, Stories, Rules
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Rules"
    page.keyboard.press("Enter")
    page.wait_for_url("**/rules")
    page.goto(site + "/?rule=gaza-ceasefire")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Not relevant":
            break
    else:
        raise AssertionError("no feedback button reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".verdict", has_text="Marked not relevant").count() >= 1


def test_axe_finds_no_serious_violations(site: str, page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe
    axe = Axe()
    serious = []
    for path in PAGES:
        page.goto(site + path)
        result = axe.run(page)
        for violation in result.response["violations"]:
            if violation.get("impact") in {"serious", "critical"}:
                serious.append((path, violation["id"], violation["help"]))
    assert serious == []


def test_usable_at_360_px(browser: Any, site: str, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        for path in PAGES:
            page.goto(site + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width} px wide at 360 px"
            name = path.strip("/").replace("/", "-").replace("?", "-") or "stories"
            page.screenshot(path=str(tmp_path / f"narrow-{name}.png"), full_page=True)
        page.goto(site + "/")
        button = page.get_by_role("button", name="Filter")
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 360
    finally:
        context.close()


def test_under_a_path_prefix_sign_in_feedback_and_sign_out(browser: Any,
                                                          tmp_path: Path) -> None:
    """web.public_url with a path: every page, form, redirect and cookie stays under it."""
    from monitor.web import hash_password
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    store = seeded_store(url)
    settings = config(tmp_path, url, listen="127.0.0.1:0",
                      public_url="https://news.example.org/monitor/",
                      users={"ana": hash_password("a long passphrase")})
    server = WebServer(create_app(settings, store), settings.web)
    server.start()
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    paths: list[str] = []
    page.on("request", lambda r: paths.append(r.url.split("/", 3)[3]))
    try:
        assert server.url.endswith("/monitor/")
        page.goto(server.url + "rules")
        page.wait_for_url(lambda u: "/monitor/login?next=" in u)
        page.get_by_label("User").fill("ana")
        page.get_by_label("Password").fill("a long passphrase")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/monitor/rules")
        # an alert's "Evidence and feedback" link: the hit's story, that hit outlined
        page.goto(server.url + "hits/2")
        page.wait_for_url("**/monitor/stories/*#hit-2")
        assert page.evaluate("document.querySelector(':target').id") == "hit-2"
        assert page.evaluate("getComputedStyle(document.querySelector(':target'))"
                             ".outlineStyle") == "solid"
        page.get_by_role("link", name="Stories", exact=True).click()
        page.wait_for_url("**/monitor/")
        page.get_by_role("link", name="AS dan Rusia Gelar Negosiasi Rahasia").first.click()
        page.wait_for_url("**/monitor/stories/*")
        with page.expect_navigation():
            page.get_by_role("button", name="Relevant", exact=True).first.click()
        assert "/monitor/stories/" in page.url
        assert page.locator(".verdict").first.inner_text().strip() == "Marked relevant"
        cookies = {c["name"]: c["path"] for c in context.cookies()}
        assert cookies == {"nm_csrf": "/monitor/", "nm_session": "/monitor/"}
        with page.expect_navigation():
            page.get_by_role("button", name="Sign out").click()
        assert "/monitor/login" in page.url
        page.screenshot(path=str(tmp_path / "prefix-signed-out.png"), full_page=True)
        outside = [p for p in paths if not p.startswith("monitor/")]
        assert outside == []
    finally:
        context.close()
        server.stop()
        store.close()

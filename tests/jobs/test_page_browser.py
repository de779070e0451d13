"""The page's views in a real browser (Debian's headless Chromium, driven by Playwright):
the landing view, a search whose address can be reloaded and shared, the "no matches"
state, keyboard navigation, the 375 px layout, a transcript that follows playback word by
word, and the report.

The database is the samples' video and photos ingested for real (``serve_db.ingested``,
shared with test_serve_browser), copied, plus a second real ingest of a folder holding a
sound and a file that is no media, so the landing view has three types and a failure.

Every test saves screenshots as test artefacts: under ``$MEDIALAKE_ARTIFACTS`` when set,
else ``artifacts/`` in pytest's temporary directory (``/tmp/pytest-of-$USER/pytest-current/artifacts``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from medialake.jobs.cli import page_link
from medialake.jobs.serve import create_app
from serve_db import SAMPLES, ingested, uvicorn_thread

CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)")]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    where = Path(os.environ.get("MEDIALAKE_ARTIFACTS") or tmp_path_factory.getbasetemp() / "artifacts")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def page_lake(tmp_path_factory, ray_local):
    import medialake

    base = ingested(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("page")
    db = str(tmp / "lake.lance")
    shutil.copytree(base.db, db)
    more = tmp / "more"
    (more / "audio").mkdir(parents=True)
    shutil.copy(SAMPLES / "audio" / "front_left.oga", more / "audio")
    (more / "audio" / "voicemail.mp3").write_bytes(b"this is not an mp3, it is a text file\n" * 20)
    summary = medialake.ingest(more, db, config_path=SAMPLES / "demo.yaml")
    assert (summary.ingested, summary.failed) == (1, 1), summary.failures
    return base, db


@pytest.fixture(scope="module")
def base_url(page_lake):
    with uvicorn_thread(create_app(page_lake[1])) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            viewport={"width": 1280, "height": 860},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--autoplay-policy=no-user-gesture-required", "--mute-audio"])
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def page(browser):
    p = browser.new_page()
    p.errors = []
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    yield p
    errors = p.errors
    p.close()
    assert not errors, errors


def shot(page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 5_000
    return path


def search(page, query: str) -> None:
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_function("!['', 'Searching…'].includes(document.querySelector('#status').textContent)",
                           timeout=60_000)


def test_landing_view_shows_the_library_at_a_glance(page, base_url, artifacts):
    page.goto(base_url + "/")
    page.locator("#landing:not([hidden]) #recent .card").first.wait_for(timeout=30_000)
    tiles = {t.get_attribute("data-type"): t.inner_text() for t in page.locator("#glance .tile[data-type]").all()}
    assert set(tiles) == {"video", "audio", "image"}, tiles
    assert tiles["video"].startswith("1") and tiles["audio"].startswith("2"), tiles  # one sound done, one failed
    assert " h" in tiles["video"]  # hours by type
    total = page.locator("#glance .tile").first.inner_text()
    assert total.split()[0] == "5", total  # 1 video, 2 photos, 2 sounds (one of them failed)
    last = page.inner_text("#last-run")
    assert "more" in last and "1 ingested" in last and "1 failed" in last, last
    failures = page.inner_text("#failures")
    assert "voicemail.mp3" in failures, failures
    recent = [c.inner_text() for c in page.locator("#recent .card .name").all()]
    assert recent[0] == "front_left.oga", recent  # the newest first
    assert any("cockatoo_budget.mp4" in r for r in recent) and not any("voicemail" in r for r in recent)
    page.wait_for_function("[...document.querySelectorAll('#recent .card img')].some(i => i.complete && i.naturalWidth > 0)",
                           timeout=15_000)
    assert page.locator("#results").is_hidden() and page.locator("#nomatch").is_hidden()
    shot(page, artifacts, "landing")


def test_a_search_lives_in_the_address_reloads_and_can_be_shared(page, base_url, artifacts):
    page.goto(base_url + "/")
    page.select_option("#type", "video")
    search(page, "quarterly budget review")
    page.locator("#results .card").first.wait_for(timeout=30_000)
    q = parse_qs(urlparse(page.url).query)
    assert q["q"] == ["quarterly budget review"] and q["type"] == ["video"], page.url
    first = page.locator("#results .card").first
    before = (first.inner_text(), first.get_attribute("data-start"))
    assert "cockatoo_budget.mp4" in before[0]
    shot(page, artifacts, "search")
    page.reload()
    page.locator("#results .card").first.wait_for(timeout=30_000)
    assert page.input_value("#q") == "quarterly budget review" and page.input_value("#type") == "video"
    again = page.locator("#results .card").first
    assert (again.inner_text(), again.get_attribute("data-start")) == before
    # the link the CLI prints (`medialake search ... --link`) opens the same search in a fresh tab
    link = page_link(base_url, "quarterly budget review", type="video")
    other = page.context.new_page()
    try:
        other.goto(link)
        other.locator("#results .card").first.wait_for(timeout=30_000)
        assert other.locator("#results .card").first.inner_text() == before[0]
    finally:
        other.close()
    # an asset opened from the results is in the address too; Back closes it, Back again is the landing view
    first.click()
    page.locator("#viewer:not([hidden])").wait_for(timeout=10_000)
    assert "asset=" in page.url
    page.go_back()
    page.wait_for_function("document.querySelector('#viewer').hidden", timeout=10_000)
    assert page.locator("#results .card").count() > 0
    page.go_back()
    page.locator("#landing:not([hidden])").wait_for(timeout=10_000)
    assert page.input_value("#q") == ""


def test_no_matches_says_so_and_offers_the_way_out(page, base_url, artifacts):
    page.goto(base_url + "/")
    search(page, "zebra xylophone quantum")
    page.locator("#nomatch:not([hidden])").wait_for(timeout=30_000)
    assert "zebra xylophone quantum" in page.inner_text("#nomatch-title")
    assert page.locator("#results .card").count() == 0 and page.locator("#results").is_hidden()
    assert page.locator("#nomatch-clear").is_hidden()  # no filter to drop
    assert page.inner_text("#status") == "No matches."
    shot(page, artifacts, "no-matches")
    # a query that matches, under a filter that excludes it: the filter is named, and can be dropped
    page.select_option("#type", "image")
    search(page, "quarterly budget review")
    page.locator("#nomatch:not([hidden])").wait_for(timeout=30_000)
    assert "type image" in page.inner_text("#nomatch-why")
    page.click("#nomatch-clear")
    page.locator("#results .card").first.wait_for(timeout=30_000)
    assert page.input_value("#type") == "" and "cockatoo_budget.mp4" in page.locator("#results .card").first.inner_text()
    shot(page, artifacts, "no-matches-cleared")


def test_keyboard_navigation(page, base_url, artifacts):
    page.goto(base_url + "/")
    page.locator("#recent .card").first.wait_for(timeout=30_000)
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("budget review")
    page.keyboard.press("Enter")
    page.locator("#results .card").first.wait_for(timeout=30_000)
    page.keyboard.press("Escape")  # leave the search box
    assert page.evaluate("document.activeElement.id") != "q"
    n = page.locator("#results .card").count()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.index") == "0"
    if n > 1:
        page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.dataset.index") == "1"
        page.keyboard.press("ArrowLeft")
        assert page.evaluate("document.activeElement.dataset.index") == "0"
    shot(page, artifacts, "keyboard-focus")
    page.keyboard.press("Enter")
    page.locator("#viewer:not([hidden])").wait_for(timeout=10_000)
    assert page.evaluate("document.activeElement.id") == "v-close"
    page.wait_for_function("() => { const v = document.querySelector('#v-player video');"
                           " return v && v.readyState >= 2; }", timeout=30_000)
    page.locator("#v-transcript li.line").first.wait_for(timeout=10_000)
    starts = [float(li.get_attribute("data-start")) for li in page.locator("#v-transcript li.line").all()]
    if len(starts) > 1:  # j/k: next and previous transcript line
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("k")
        page.wait_for_function(f"document.querySelector('#v-player video').currentTime < {starts[1]}", timeout=10_000)
        page.keyboard.press("j")
        page.wait_for_function(f"document.querySelector('#v-player video').currentTime >= {starts[1] - 0.05}",
                               timeout=10_000)
    page.keyboard.press("Escape")
    page.wait_for_function("document.querySelector('#viewer').hidden", timeout=10_000)


def test_the_page_works_375_px_wide(browser, base_url, artifacts):
    page = browser.new_page()
    page.set_viewport_size({"width": 375, "height": 780})
    try:
        page.goto(base_url + "/")
        page.locator("#recent .card").first.wait_for(timeout=30_000)
        fits = "document.documentElement.scrollWidth <= window.innerWidth + 1"
        assert page.evaluate(fits), page.evaluate("document.documentElement.scrollWidth")
        shot(page, artifacts, "narrow-landing")
        search(page, "quarterly budget review")
        page.locator("#results .card").first.wait_for(timeout=30_000)
        assert page.evaluate(fits)
        box, go = page.locator("#results .card").first.bounding_box(), page.locator("#go").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375 + 1, box
        assert go["x"] + go["width"] <= 375 + 1, go  # the search button is on screen
        shot(page, artifacts, "narrow-search")
        page.locator("#results .card").first.click()
        page.locator("#v-player video").wait_for(timeout=10_000)
        vid = page.locator("#v-player video").bounding_box()
        assert vid["width"] <= 375 and page.locator("#v-close").is_visible()
        page.locator("#v-transcript li.line").first.wait_for(timeout=10_000)
        assert page.locator("#v-transcript").bounding_box()["x"] + page.locator("#v-transcript").bounding_box()["width"] <= 376
        shot(page, artifacts, "narrow-asset")
    finally:
        page.close()


def test_transcript_follows_playback_word_by_word(page, base_url, artifacts):
    page.goto(base_url + "/")
    search(page, "quarterly budget review")
    card = page.locator("#results .card[data-type='video']").first
    card.wait_for(timeout=30_000)
    card.click()
    page.wait_for_function("() => { const v = document.querySelector('#v-player video');"
                           " return v && v.readyState >= 2 && v.currentTime > 0; }", timeout=30_000)
    assert page.locator("#v-transcript .w").count() > 3  # the demo's ASR timed every word
    # while it plays, the word under the playhead is marked, and its line
    page.wait_for_function("document.querySelectorAll('#v-transcript .w.now').length === 1", timeout=20_000)
    now = page.evaluate("""() => { const v = document.querySelector('#v-player video');
        const w = document.querySelector('#v-transcript .w.now'); const li = w.closest('li');
        return {t: v.currentTime, s: +w.dataset.s, e: +w.dataset.e, word: w.textContent,
                ls: +li.dataset.start, le: +li.dataset.end, playing: li.classList.contains('playing')}; }""")
    assert now["playing"] and now["ls"] <= now["s"] < now["le"], now
    assert now["s"] - 0.5 <= now["t"] <= now["e"] + 0.5, now  # the mark trails playback by a frame at most
    shot(page, artifacts, "asset-playing")
    first_word = now["word"]
    # it moves on: later, another word is marked
    page.wait_for_function(f"(() => {{ const w = document.querySelector('#v-transcript .w.now');"
                           f" return w && +w.dataset.s > {now['s']}; }})()", timeout=20_000)
    # seeking to the first line moves the marks there
    page.locator("#v-transcript li.line button.seek").first.click()
    page.wait_for_function("() => { const li = document.querySelector('#v-transcript li.line');"
                           " return li.classList.contains('playing'); }", timeout=15_000)
    assert first_word is not None


def test_report_page(page, base_url, artifacts):
    page.goto(base_url + "/report")
    page.locator("svg").first.wait_for(timeout=30_000)
    text = page.inner_text("body")
    assert "voicemail.mp3" in text or "failed" in text.lower()
    assert page.locator("svg").count() >= 3  # charts drawn inline, nothing fetched
    page.set_viewport_size({"width": 1280, "height": 1600})
    shot(page, artifacts, "report")

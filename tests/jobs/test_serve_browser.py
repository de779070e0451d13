"""The search page in a real browser: Debian's headless Chromium driven by Playwright.

The samples are ingested for real (Ray, Whisper, MiniLM); the app runs on uvicorn on a
free 127.0.0.1 port in a thread. Chromium comes from `apt-get install chromium` (the
Makefile's `chromium` target); Playwright only drives it, it downloads nothing.
"""

import os

import pytest
from fastapi.testclient import TestClient

from medialake.jobs.serve import create_app
from medialake.search.query import search
from serve_db import ingested, uvicorn_thread

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(tmp_path_factory, ray_local):
    return ingested(tmp_path_factory)


@pytest.fixture(scope="module")
def base_url(lake):
    with uvicorn_thread(create_app(lake.db)) as port:
        yield f"http://127.0.0.1:{port}"


def test_api_over_a_real_ingest(lake):
    with TestClient(create_app(lake.db)) as c:
        moments = c.get("/api/search", params={"q": "quarterly budget review", "limit": 3}).json()
        direct = search("quarterly budget review", lake.db, limit=3)
        assert moments == [{k: v for k, v in m.items() if k != "thumbnail"} for m in direct]
        top = moments[0]
        assert top["asset_uri"].endswith("cockatoo_budget.mp4") and 10.2 <= top["start_s"] <= 11.2 < top["end_s"] <= 13.6
        asset = c.get(f"/api/assets/{top['asset_id']}").json()
        assert any("budget" in (s["transcript"] or "").lower() for s in asset["segments"])
        thumbs = [s["thumbnail_url"] for s in asset["segments"]]
        assert all(thumbs) and c.get(thumbs[0]).content[:2] == b"\xff\xd8"
        r = c.get(f"/api/assets/{top['asset_id']}/media", headers={"Range": "bytes=4-11"})
        assert r.status_code == 206 and r.content == (lake.archive / "video" / "cockatoo_budget.mp4").read_bytes()[4:12]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make test installs it)")
def test_type_a_query_click_the_video_and_it_plays_from_the_moment(lake, base_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # A persistent context is how Playwright takes a --user-data-dir: a fresh one per run.
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            viewport={"width": 1280, "height": 860},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--autoplay-policy=no-user-gesture-required", "--mute-audio"])
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base_url + "/")
            page.fill("#q", "quarterly budget review")
            page.press("#q", "Enter")
            card = page.locator("#results .card[data-type='video']").first
            card.wait_for(timeout=30_000)
            # thumbnails really loaded (decoded by the browser), not just <img> tags
            page.wait_for_function("document.querySelectorAll('#results .card img').length > 0 && "
                                   "[...document.querySelectorAll('#results .card img')].every(i => i.complete && i.naturalWidth > 0)",
                                   timeout=15_000)
            assert "cockatoo_budget.mp4" in card.inner_text()
            assert "budget" in card.inner_text().lower()
            page.screenshot(path=str(tmp_path / "results.png"))
            start, end = float(card.get_attribute("data-start")), float(card.get_attribute("data-end"))
            assert 10.2 <= start <= 11.2 < end <= 13.6  # the matching words, spoken from 10.2 s to ~12.6 s
            card.click()
            video = page.locator("#v-player video")
            video.wait_for(timeout=10_000)
            page.wait_for_function("() => { const v = document.querySelector('#v-player video');"
                                   " return v && v.readyState >= 2 && v.currentTime > 0; }", timeout=30_000)
            t = page.evaluate("document.querySelector('#v-player video').currentTime")
            assert start - 0.05 <= t <= end, (t, start, end)
            page.locator("#v-transcript li.line").first.wait_for(timeout=10_000)
            assert "budget" in page.inner_text("#v-transcript").lower()
            page.screenshot(path=str(tmp_path / "playing.png"))
            # a transcript line seeks the player to its start
            page.locator("#v-transcript li.line button.seek").first.click()
            page.wait_for_function("document.querySelector('#v-player video').currentTime < 9.9", timeout=10_000)
            # a photo dropped on the page searches with it: results, or a clear word that the role is off
            page.keyboard.press("Escape")
            page.set_input_files("#file", str(lake.archive / "images" / "chelsea.jpg"))
            page.wait_for_function("!['', 'Searching…'].includes(document.querySelector('#status').textContent)",
                                   timeout=30_000)
            status = page.inner_text("#status")
            # no image/text model in the offline profile: the page shows why instead of results
            assert "moment" in status or "no image_text vectors" in status or "not configured" in status, status
            assert "chelsea.jpg" in page.inner_text("#drop")
            page.screenshot(path=str(tmp_path / "upload.png"))
            assert not errors, errors
        finally:
            browser.close()
    assert (tmp_path / "results.png").stat().st_size > 10_000
    assert (tmp_path / "playing.png").stat().st_size > 10_000

"""A large survey's results page in a real browser, in a worker that has not drawn its chart yet: the image says the
chart is being drawn, and the page's script puts the chart in its place once drawn, on a phone and a desktop."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.browser.test_jobs_browser import log_in
from web import cache
from web.research import weighting_jobs

pytestmark = pytest.mark.browser

RESULTS = "/research/digital-skills?indicator=dsi_index&level=ward"
IMAGE = "document.querySelector('figure.chart img')"


def _results_shown(page, url: str) -> None:
    """The results page with its table: "being prepared" reloads itself (a meta refresh) until then."""
    page.goto(url)
    page.locator("#results-table").wait_for(timeout=120_000)


def _wait_for(page, condition: str, seconds: float) -> None:
    """Until ``condition`` holds in the page (read from outside it: the page's policy forbids evaluating text)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(condition):
        assert time.monotonic() < deadline, f"not within {seconds} s: {condition}"
        time.sleep(0.1)


@pytest.fixture
def prompt_retries(monkeypatch):
    """"Being prepared" pages reload themselves after 1 s rather than 2 s or 5 s: the same reloads, sooner."""
    monkeypatch.setattr(weighting_jobs, "RETRY_SECONDS", 1)
    monkeypatch.setattr(weighting_jobs, "RETRY", dict.fromkeys(weighting_jobs.RETRY, 1))


@pytest.mark.parametrize(("width", "lang"), [(360, "vi"), (1280, "en")])
def test_the_chart_being_drawn_is_said_then_shown_without_a_reload(live_app, live_demo, browser, tmp_path, width,
                                                                    lang, prompt_retries):
    live_demo(8)
    live_app.config.update(KHAOSAT_WEIGHTING_JOB_THRESHOLD=100, KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    base = live_app.config["BASE_URL"]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.clock.install()  # the page's timers as ever, but the test can bring its 2 s wait forward
    log_in(page, base)
    url = f"{base}{RESULTS}&lang={lang}"
    _results_shown(page, url)  # the first weights: a run in the background
    cache.init_app(live_app)  # a worker that has just started: nothing read, nothing drawn
    live_app.config.update(KHAOSAT_ASIDE_WAIT_SECONDS=0.0)  # no request waits for what is computed aside
    _results_shown(page, url)
    _wait_for(page, f"{IMAGE}.complete && {IMAGE}.naturalWidth > 0", seconds=30)
    shots = Path(os.environ.get("KHAOSAT_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    # the image saying the chart is being drawn (400 x 110); the script asks again after Retry-After (2 s)
    assert page.evaluate(f"[{IMAGE}.naturalWidth, {IMAGE}.naturalHeight]") == [400, 110]
    page.screenshot(path=shots / f"chart-being-drawn-{width}-{lang}.png", full_page=True)
    page.clock.run_for(2000)  # the script's wait before it asks again
    _wait_for(page, f"{IMAGE}.complete && {IMAGE}.naturalWidth > 400", seconds=60)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.screenshot(path=shots / f"chart-drawn-{width}-{lang}.png", full_page=True)
    context.close()


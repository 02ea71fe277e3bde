"""A researcher prepares a large download in a real browser: the progress bar moves, then the file is fetched
from "Your downloads"; on a phone and a desktop, in Vietnamese and English, and with JavaScript off."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.browser

PREPARE = {"vi": "Chuẩn bị: Excel (XLSX) kèm trang sổ tay biến", "en": "Prepare: Excel (XLSX) with a codebook sheet"}


@pytest.fixture
def large_live(live_app, live_demo, tmp_path):
    """The live demo, with files over 100 responses prepared in the background, 20 rows a progress step."""
    live_demo(8)
    live_app.config.update(KHAOSAT_JOB_THRESHOLD=100, KHAOSAT_JOB_CHUNK_ROWS=20,
                           KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    return live_app


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("KHAOSAT_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", "demo-researcher")
    page.fill("input[name=password]", "khaosat-researcher")
    with page.expect_navigation():
        page.click("button[type=submit]")


def bar_values(page, seconds: float = 90) -> list[float]:
    """The progress bar's value, read every 0.1 s until the page shows the file's link."""
    seen: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if page.locator("a.button[download]").count():
                return seen
            value = page.evaluate("(document.getElementById('job-progress') || {}).value")
        except Exception:  # noqa: BLE001 - the page is reloading itself once the file is ready
            value = None
        if value is not None and (not seen or seen[-1] != value):
            seen.append(value)
        time.sleep(0.1)
    raise AssertionError(f"no file after {seconds} s; the bar showed {seen}")


@pytest.mark.parametrize(("width", "lang"), [(360, "vi"), (1280, "en")])
def test_the_bar_moves_and_the_file_arrives_in_your_downloads(large_live, browser, tmp_path, width, lang):
    base = large_live.config["BASE_URL"]
    context = browser.new_context(viewport={"width": width, "height": 800}, accept_downloads=True)
    page = context.new_page()
    log_in(page, base)
    page.goto(f"{base}/research/digital-skills/downloads?lang={lang}")
    with page.expect_navigation():
        page.get_by_role("button", name=PREPARE[lang]).first.click()
    assert "/research/my-downloads/" in page.url
    page.screenshot(path=shots(tmp_path) / f"job-progress-{width}-{lang}.png", full_page=True)
    values = bar_values(page)
    moving = [v for v in values if 0 < v < 100]
    assert moving and moving == sorted(moving), values  # the script moved it, forwards, without a reload
    page.screenshot(path=shots(tmp_path) / f"job-ready-{width}-{lang}.png", full_page=True)
    page.goto(f"{base}/research/digital-skills/downloads?lang={lang}#your-downloads")
    row = page.locator("ul.jobs li").first
    assert ("Sẵn sàng" if lang == "vi" else "Ready") in row.inner_text() and "XLSX" in row.inner_text()
    page.screenshot(path=shots(tmp_path) / f"your-downloads-{width}-{lang}.png", full_page=True)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1  # the page itself never scrolls sideways (the table may, inside its box)
    with page.expect_download() as info:
        row.locator("a[download]").click()
    path = tmp_path / "prepared.xlsx"
    info.value.save_as(path)
    assert info.value.suggested_filename == f"synthetic-demo-digital-skills-scientific-use-{lang}.xlsx"
    frame = pd.read_excel(path, sheet_name="data")
    assert len(frame) > 900 and frame["weight"].notna().all() and "birth_year" not in frame.columns
    context.close()


def test_without_javascript_the_page_reloads_itself_until_the_file_is_ready(large_live, browser, tmp_path):
    base = large_live.config["BASE_URL"]
    context = browser.new_context(viewport={"width": 360, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    log_in(page, base)
    page.goto(f"{base}/research/digital-skills/downloads?lang=en")
    with page.expect_navigation():
        page.get_by_role("button", name="Prepare: CSV (UTF-8, opens in Excel)").first.click()
    text = page.locator("#job-state").inner_text()
    assert "%" in text and page.get_by_role("link", name="Reload to see the progress").count() == 1
    page.screenshot(path=shots(tmp_path) / "job-progress-nojs-360-en.png", full_page=True)
    page.locator("a.button[download]").wait_for(timeout=90_000)  # after the <noscript> refreshes
    assert "100%" in page.locator("#job-state").inner_text()
    context.close()

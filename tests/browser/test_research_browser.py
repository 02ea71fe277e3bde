"""A researcher in a real browser: log in, results with the chart, the ranking, every download."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


def test_researcher_sees_results_chart_ranking_and_downloads_every_format(live_app, live_demo, desktop, tmp_path):
    live_demo(8)
    base = live_app.config["BASE_URL"]
    page = desktop
    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", "demo-researcher")
    page.fill("input[name=password]", "khaosat-researcher")
    page.click("button[type=submit]")
    page.goto(f"{base}/research/digital-skills?indicator=at_least_basic&by=age_band")
    assert page.locator("table tbody tr").count() == 4
    assert page.evaluate("document.querySelector('figure.chart img').naturalWidth") > 400
    page.goto(f"{base}/research/digital-skills/left-behind?indicator=at_least_basic&all=1")
    assert page.locator("ol.ranking li").count() > 10
    page.goto(f"{base}/research/digital-skills/downloads")
    for fmt in ("csv", "xlsx", "sav", "dta", "parquet"):
        with page.expect_download() as info:
            page.click(f"a[href*='export.{fmt}']")
        path = tmp_path / f"data.{fmt}"
        info.value.save_as(path)
        if fmt == "csv":
            frame = pd.read_csv(path, encoding="utf-8-sig")
        elif fmt == "xlsx":
            frame = pd.read_excel(path, sheet_name="data")
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame, meta = (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path))
            assert meta.variable_value_labels["sex"] == {1: "Nam", 2: "Nữ"}
        assert "Phường Hoàn Kiếm" in set(frame["ward"]) and frame["weight"].notna().all()


VIETNAMESE_NAMES = ("Chỉ số kỹ năng số", "Có kỹ năng số", "Đã dùng Internet")
ENGLISH_NAMES = ("Digital-skills index", "At least basic digital", "Used the internet")


@pytest.mark.parametrize("width", [360, 1280])
def test_left_behind_reads_in_each_language_on_a_phone_and_a_desktop(live_app, live_demo, browser, width):
    live_demo(8)
    base = live_app.config["BASE_URL"]
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", "demo-researcher")
    page.fill("input[name=password]", "khaosat-researcher")
    page.click("button[type=submit]")
    for lang, foreign, below in (("vi", ENGLISH_NAMES, "thấp hơn"), ("en", VIETNAMESE_NAMES, "below")):
        for indicator in ("dsi_index", "at_least_basic"):
            page.goto(f"{base}/research/digital-skills/left-behind?indicator={indicator}&all=1&lang={lang}")
            assert page.locator(".demo-banner").is_visible()
            headings = page.locator("section.ranking-area h2").all_inner_texts()
            assert headings and len(headings) == len(set(headings))  # each ward one block, never twice
            sentences = page.locator("p.sentence").all_inner_texts()
            assert 0 < len(sentences) <= 20 and len(sentences) == len(set(sentences))
            worded = page.locator("li:not(.suppressed) p.sentence").all_inner_texts()
            assert worded and all(below in s or ("cao hơn" if lang == "vi" else "above") in s for s in worded)
            text = page.locator("main").inner_text()
            assert not any(name in text for name in foreign), (lang, indicator)
            if indicator == "at_least_basic":  # shares in %, scores in points
                assert all("%" in s for s in worded)
            else:
                assert not any("%" in s for s in worded)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            height = page.evaluate("document.documentElement.scrollHeight")
            assert height < (9000 if width == 360 else 3500), height
    context.close()

"""Results in a real Chromium at 360 and 1280 px, in Vietnamese and English (issue 13).

A share (by ward and sex), a score and a categorical item: no interval outside 0-100, each page
names indicators only in its own language, every chart fits (at most 1,200 px high, no wider than
the screen), has an alternative text and a link to its table.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

PAGES = {
    "share": "indicator=at_least_basic&level=ward&by=sex",
    "score": "indicator=dsi_index&by=age_band",
    "categorical": "indicator=wg_seeing&by=sex",
}
INTERVAL = re.compile(r"^(-?[\d.,]+) – (-?[\d.,]+)$")


def _number(text: str, lang: str) -> float:
    return float(text.replace(".", "").replace(",", ".") if lang == "vi" else text.replace(",", ""))


def _menu(page) -> dict[str, str]:
    return dict(page.eval_on_selector_all("#indicator option", "els => els.map(e => [e.value, e.textContent])"))


@pytest.mark.parametrize("width", [360, 1280])
def test_results_read_right_and_fit_at_every_width(live_app, live_demo, browser, width, tmp_path):
    live_demo(8)
    live_app.config["MIN_CELL_COUNT"] = 3  # small cells too, so 0% and 100% cells are on the page
    base = live_app.config["BASE_URL"]
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", "demo-researcher")
    page.fill("input[name=password]", "khaosat-researcher")
    page.click("button[type=submit]")
    menus = {}
    for lang in ("vi", "en"):
        for kind, args in PAGES.items():
            page.goto(f"{base}/research/digital-skills?{args}&lang={lang}")
            page.screenshot(path=str(tmp_path / f"{kind}-{lang}-{width}.png"), full_page=True)
            cells = page.eval_on_selector_all("#results-table td.num", "els => els.map(e => e.textContent.trim())")
            intervals = [m.groups() for m in map(INTERVAL.match, cells) if m]
            assert len(intervals) >= (4 if kind != "share" else 20), (kind, lang)
            values = [_number(v, lang) for pair in intervals for v in pair]
            assert min(values) >= 0 and max(values) <= 100, (kind, lang)
            charts = page.eval_on_selector_all("figure.chart img", "els => els.map(e => ({h: e.naturalHeight, "
                                               "w: e.naturalWidth, shown: e.getBoundingClientRect().height, "
                                               "width: e.getBoundingClientRect().width, alt: e.alt}))")
            assert len(charts) == 1
            chart = charts[0]
            assert 0 < chart["h"] <= 1200 and chart["shown"] <= 1200, (kind, lang, chart)
            assert chart["width"] <= width and len(chart["alt"]) > 30
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # nothing runs off a phone
            assert page.locator("figure.chart a[href='#results-table']").count() == 1
            assert page.locator("#results-table").count() == 1
        menus[lang] = _menu(page)
        page.goto(f"{base}/research/digital-skills?{PAGES['categorical']}&lang={lang}")
        menus[lang + "_text"] = page.inner_text("main")
    assert menus["vi"].keys() == menus["en"].keys() and len(menus["vi"]) > 60
    for name, vi_label in menus["vi"].items():
        en_label = menus["en"][name]
        assert vi_label != en_label, name
        assert vi_label not in menus["en_text"], name  # no Vietnamese indicator name on the English page
        assert en_label not in menus["vi_text"], name  # and the reverse
    context.close()

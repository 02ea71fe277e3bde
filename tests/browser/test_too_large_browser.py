"""A survey over KHAOSAT_CELLS_IN_DATABASE_THRESHOLD in a real browser: its results page says its figures are being
prepared, reloads itself, then shows the table the database computed and its chart (the phone's narrow one on a
phone), labelled with its time, in the reader's language, without pushing a phone's page sideways; its left-behind
ranking words the cells furthest behind; its model-based ward estimates are linked from the table by ward and show
every ward and their chart; its weighting page shows the steps of its weights; its rounds page offers the groups crossed with round; its disclosure-risk page says the risk is being measured, then
reloads itself until it shows both files' reports. With ``KHAOSAT_SCREENSHOTS=DIR`` the pages are saved there as PNG files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.test_jobs_browser import log_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("KHAOSAT_SCREENSHOTS")
MEASURING = {"vi": "Rủi ro nhận diện đang được đo", "en": "The disclosure risk is being measured"}
FROM_DATABASE = {"vi": "do cơ sở dữ liệu tính", "en": "computed by the database"}
AS_OF = {"vi": "Số liệu tính đến", "en": "Figures as of"}
GROUPS_BY_ROUND = {"vi": ["Nhóm tuổi", "Giới tính"], "en": ["Age band", "Sex"]}
BEHIND = {"vi": "thấp hơn", "en": "below"}  #: a left-behind cell's sentence compares it with the whole city


@pytest.mark.parametrize(("width", "lang"), [(360, "vi"), (1280, "en")])
def test_a_survey_too_large_for_memory_gets_its_results_from_the_database(live_app, live_demo, browser, tmp_path,
                                                                          width, lang):
    live_demo(8)  # enough wards with respondents for the small-area model
    live_app.config.update(KHAOSAT_CELLS_IN_DATABASE_THRESHOLD=100, KHAOSAT_WEIGHTING_JOB_THRESHOLD=50,
                           KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    base = live_app.config["BASE_URL"]
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, base)
    page.goto(f"{base}/research/digital-skills?indicator=at_least_basic&by=sex&lang={lang}")
    page.wait_for_selector("#results-table", timeout=60_000)  # the "being prepared" page reloads itself
    assert FROM_DATABASE[lang] in page.locator("p.notice").inner_text()
    assert AS_OF[lang] in page.locator("p.as-of").inner_text()
    assert "%" in page.locator("#results-table thead").inner_text()
    rows = page.locator("#results-table tbody tr")
    assert rows.count() == 2  # women and men of the whole city, each a share with its interval around it
    for i in range(2):
        cells = [rows.nth(i).locator("td").nth(k).inner_text() for k in (1, 2)]
        estimate, (low, high) = _number(cells[0]), (_number(v) for v in cells[1].split("–"))
        assert 0 < low < estimate < high < 100
    chart = page.locator("figure.chart img")
    chart.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 400", arg=chart.element_handle(), timeout=20_000)
    drawn = chart.evaluate("img => [img.currentSrc, img.naturalWidth, img.getBoundingClientRect().right]")
    assert ("size=narrow" in drawn[0]) == (width < 640) and drawn[2] <= width  # the phone's chart, inside the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"results-in-database-{width}-{lang}.png"), full_page=True)
    page.goto(f"{base}/research/digital-skills/left-behind?indicator=dsi_index&lang={lang}")
    assert AS_OF[lang] in page.locator("p.as-of").inner_text()
    worded = page.locator("ol.ranking li.left-behind p.sentence")
    assert worded.count() >= 1 and BEHIND[lang] in worded.first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"left-behind-in-database-{width}-{lang}.png"), full_page=True)
    page.goto(f"{base}/research/digital-skills?indicator=at_least_basic&level=ward&lang={lang}")
    page.click("a[href*='/small-area?indicator=at_least_basic']")
    page.wait_for_url("**/small-area?*")
    assert AS_OF[lang] in page.locator("p.as-of").inner_text()
    assert page.locator("table.small-area tbody tr").count() == 126  # every ward of Hà Nội, with or without sample
    natural_width = page.locator("figure.chart img").evaluate(
        "img => img.complete ? img.naturalWidth : new Promise(done => {"
        " img.addEventListener('load', () => done(img.naturalWidth));"
        " img.addEventListener('error', () => done(0)); })")
    assert natural_width > 400 and page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"small-area-in-database-{width}-{lang}.png"), full_page=True)
    page.goto(f"{base}/research/digital-skills/weighting?indicator=at_least_basic&by=sex&lang={lang}")
    assert AS_OF[lang] in page.locator("p.as-of").inner_text()
    tables = page.locator("table:has(th:text-is('n'))")  # the steps of the weights, then weighted vs unweighted
    assert tables.nth(0).locator("tbody tr").count() == 3 and tables.nth(1).locator("tbody tr").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"weighting-in-database-{width}-{lang}.png"), full_page=True)
    page.goto(f"{base}/research/digital-skills/rounds?indicator=dsi_index&first=1&second=2&by=sex&lang={lang}")
    assert AS_OF[lang] in page.locator("p.as-of").inner_text()  # the rounds' page is served too, from the roll-up
    assert page.locator("table").first.locator("tbody tr").count() == 2  # the demo's two rounds
    assert page.locator("#by option").all_inner_texts()[1:] == GROUPS_BY_ROUND[lang]  # those crossed with round
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"rounds-in-database-{width}-{lang}.png"), full_page=True)
    page.goto(f"{base}/research/digital-skills/disclosure?lang={lang}")
    assert MEASURING[lang] in page.locator("#being-prepared").inner_text()  # measured in the background at this size
    page.wait_for_selector("section.release table", timeout=60_000)  # the page reloads itself until it is
    assert page.locator("section.release").count() == 2  # the scientific- and public-use files' reports
    assert AS_OF[lang] in page.locator("p.as-of").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"disclosure-in-database-{width}-{lang}.png"), full_page=True)
    context.close()


def _number(text: str) -> float:
    """A figure as the page writes it ("44,4" in Vietnamese, "44.4" in English)."""
    return float(text.strip().replace(",", "."))

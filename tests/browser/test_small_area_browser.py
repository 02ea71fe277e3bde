"""A researcher opens the model-based ward estimates from the results page, on a desktop and on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.test_surveys_browser import serious_violations
from web import db
from web.models import Area

pytestmark = pytest.mark.browser


def test_small_area_page_from_the_results_page_on_desktop_and_phone(live_app, live_demo, browser):
    live_demo(16)
    with live_app.app_context():
        wards = len(db.session().exec(select(Area.code).where(Area.level == "ward", Area.parent_code == 1)).all())
    base = live_app.config["BASE_URL"]
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    # wait for each navigation to finish: a goto that starts while the login POST is still in flight
    # cancels it (then the results page redirects to the login form), and counting rows right after
    # the click counts those of the page being left
    page.goto(f"{base}/accounts/login?next=/research/digital-skills")  # one login for both widths
    page.fill("input[name=username]", "demo-researcher")
    page.fill("input[name=password]", "khaosat-researcher")
    page.click("main button[type=submit]")
    page.wait_for_url("**/research/digital-skills")
    for width, lang in ((1280, "en"), (360, "vi")):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{base}/research/digital-skills?indicator=at_least_basic&level=ward&lang={lang}")
        page.click("a[href*='/small-area?indicator=at_least_basic']")
        page.wait_for_url("**/small-area?*")
        expect(page.locator("table.small-area tbody tr")).to_have_count(wards)
        # the chart is drawn on its own request: wait for the image to load or fail, however long it takes
        natural_width = page.locator("figure.chart img").evaluate(
            "img => img.complete ? img.naturalWidth : new Promise(done => {"
            " img.addEventListener('load', () => done(img.naturalWidth));"
            " img.addEventListener('error', () => done(0)); })")
        assert natural_width > 400
        header = page.locator("table.small-area thead").inner_text()
        assert ("Model-based" in header and "Weight on direct" in header) if lang == "en" else \
            ("Theo mô hình" in header and "Trọng số của ước lượng trực tiếp" in header)
        # the page itself never scrolls sideways; the wide table scrolls in its own region
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        assert serious_violations(page) == []
    context.close()


def test_the_covariates_page_fits_a_phone(live_app, live_demo, browser):
    """The upload's example (a line of CSV wider than a phone) scrolls in its own box; the page does not."""
    live_demo(8)
    base = live_app.config["BASE_URL"]
    context = browser.new_context(locale="vi-VN", viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/accounts/login?next=/research/covariates")
    page.fill("input[name=username]", "demo-admin")
    page.fill("input[name=password]", "khaosat-admin")
    page.click("main button[type=submit]")
    page.wait_for_url("**/research/covariates")
    expect(page.locator("h1")).to_have_text("Biến phụ trợ cấp phường/xã")
    assert page.evaluate("document.documentElement.scrollWidth") <= 361
    context.close()

"""A researcher opens the model-based ward estimates from the results page, on a desktop and on a phone."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.browser.test_surveys_browser import serious_violations
from web import db
from web.models import Area

pytestmark = pytest.mark.browser


def test_small_area_page_from_the_results_page_on_desktop_and_phone(live_app, browser):
    from web.demo import seed_demo

    with live_app.app_context():
        seed_demo(db.session(), 1, per_ward=16)
        wards = len(db.session().exec(select(Area.code).where(Area.level == "ward", Area.parent_code == 1)).all())
    base = live_app.config["BASE_URL"]
    for width, lang in ((1280, "en"), (360, "vi")):
        context = browser.new_context(viewport={"width": width, "height": 800}, locale="vi-VN")
        page = context.new_page()
        page.goto(f"{base}/accounts/login?lang={lang}")
        page.fill("input[name=username]", "demo-researcher")
        page.fill("input[name=password]", "khaosat-researcher")
        page.click("button[type=submit]")
        page.goto(f"{base}/research/digital-skills?indicator=at_least_basic&level=ward")
        page.click("a[href*='/small-area?indicator=at_least_basic']")
        assert page.locator("table.small-area tbody tr").count() == wards
        for _ in range(120):  # the chart is drawn on request; the page's CSP forbids wait_for_function
            if page.evaluate("document.querySelector('figure.chart img').complete"):
                break
            page.wait_for_timeout(500)
        assert page.evaluate("document.querySelector('figure.chart img').naturalWidth") > 400
        header = page.locator("table.small-area thead").inner_text()
        assert ("Model-based" in header and "Weight on direct" in header) if lang == "en" else \
            ("Theo mô hình" in header and "Trọng số của ước lượng trực tiếp" in header)
        # the page itself never scrolls sideways; the wide table scrolls in its own region
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        assert serious_violations(page) == []
        context.close()

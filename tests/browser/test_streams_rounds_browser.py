"""Both streams side by side, and a round edited then deleted, in a real Chromium at 360 and 1280 px, vi and en."""

from __future__ import annotations

import pytest

from tests.web.helpers import add_self_selected

pytestmark = pytest.mark.browser


def _login(browser, base: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", "demo-admin")
    page.fill("input[name=password]", "khaosat-admin")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


@pytest.mark.parametrize("width", [360, 1280])
def test_both_streams_and_rounds_work_and_fit_at_every_width(live_app, live_demo, browser, width):
    live_demo(8)
    add_self_selected(live_app)
    base = live_app.config["BASE_URL"]
    context, page = _login(browser, base, width)
    for lang, official, other in (("vi", "Mẫu xác suất (chính thức)", "không đại diện"),
                                  ("en", "Probability sample (official)", "not representative")):
        page.goto(f"{base}/research/digital-skills?indicator=at_least_basic&by=sex&lang={lang}")
        page.click("p.stream a")  # "show the self-selected stream beside it"
        page.wait_for_selector("#streams table")
        heads = page.inner_text("#streams thead")
        assert official in heads and other in heads
        gaps = page.eval_on_selector_all("#streams tbody tr", "rows => rows.map(r => r.cells.length)")
        assert len(gaps) == 2 and set(gaps) == {9}
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # the table scrolls, not the page
    page.goto(f"{base}/research/digital-skills/rounds?lang=en")
    page.click("text=Edit round 2")
    page.fill("#label", "Round two")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "Round 2 saved" in page.inner_text("main") and "Round two" in page.inner_text("table")
    assert page.locator("text=Delete round 1").count() == 0  # it holds the demo's responses
    with page.expect_navigation():
        page.click("text=Delete round 2")
    assert "Round 2 deleted." in page.inner_text("main") and "Round two" not in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    context.close()

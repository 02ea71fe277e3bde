"""The demo supervisor in a real browser with JavaScript off: the submissions table of their wards,
a filter, one response in each language, a correction with its history, a review, a bulk action."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from web import db
from web.models import Response, ResponseEdit

pytestmark = pytest.mark.browser
TITLE = "Khảo sát kỹ năng số của người dân"


def demo_supervisor(live_app, live_demo, browser, **options):
    """The demo (4 responses a ward: a copy of the one seeded once per run) and a browser page logged in as its
    supervisor."""
    live_demo(8)
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(f"{live_app.config['BASE_URL']}/accounts/login")
    page.fill("input[name=username]", "demo-supervisor")
    page.fill("input[name=password]", "khaosat-supervisor")
    page.click("main button[type=submit]")
    return context, page


@pytest.mark.parametrize("width", [360, 1280])
def test_supervisor_reviews_and_corrects_without_javascript(live_app, live_demo, browser, width, tmp_path):
    base = live_app.config["BASE_URL"]
    context, page = demo_supervisor(live_app, live_demo, browser, viewport={"width": width, "height": 900},
                                    java_script_enabled=False, locale="vi-VN")
    page.goto(f"{base}/admin/submissions?lang=vi")
    assert page.locator("#ward option").count() == 1 + 6  # "all" and the supervisor's six wards
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.select_option("#flag", "outside_assignment")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()  # the address changes when the new page commits, before its table is parsed
    assert "flag=outside_assignment" in page.url
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("không được phân công")
    page.screenshot(path=str(tmp_path / f"table-vi-{width}.png"), full_page=True)
    page.select_option("#flag", "")
    page.select_option("#survey_id", label=TITLE)  # the survey's title in the page's language
    page.select_option("#channel", "interview")
    page.click("form.filters button[type=submit]")
    href = page.locator("tbody a").first.get_attribute("href")
    rid = int(re.search(r"/(\d+)$", href).group(1))
    for lang, words in (("vi", "Câu trả lời"), ("en", "Answers")):
        page.goto(f"{base}{href}?lang={lang}")
        assert page.locator("h2", has_text=words).count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(tmp_path / f"response-{lang}-{width}.png"), full_page=True)
    page.goto(f"{base}{href}/edit?question=birth_year&lang=en")
    page.fill("#value", "1950")
    page.fill("#reason", "Checked against the household list")
    page.click("main form[method=post] button[type=submit]")
    assert "Checked against the household list" in page.locator("#history + div").inner_text()
    page.check("#status-on_hold")
    page.fill("#note", "Call the household back")
    page.click("text=Save the review")
    assert "On hold" in page.locator("dl").inner_text()
    page.goto(f"{base}/admin/submissions?lang=en&status=on_hold")
    page.click("#whole-selection button[value=approve]")
    assert "1 response will become: Approved." in page.locator("main").inner_text()
    page.click("button[value=yes]")
    with live_app.app_context():
        response = db.session().get(Response, rid)
        assert response.answers["birth_year"] == 1950 and response.review_status == "approved"
        assert db.session().exec(select(ResponseEdit).where(ResponseEdit.response_id == rid)).one().old_value != 1950
    context.close()


def test_supervisor_ticks_every_row_on_the_page_and_rejects_all_but_one(live_app, live_demo, browser):
    """With JavaScript, "select all on this page" ticks the rows in place (no reload); the confirmation
    counts the ticked rows, and only they change."""
    base = live_app.config["BASE_URL"]
    context, page = demo_supervisor(live_app, live_demo, browser, viewport={"width": 1280, "height": 900}, locale="en-GB")
    page.goto(f"{base}/admin/submissions?lang=en&channel=interview")
    url = page.url
    page.click("text=Select all on this page")
    assert page.url == url  # ticked in place
    boxes = page.locator("input[name=ids]")
    assert boxes.count() > 1 and page.locator("input[name=ids]:checked").count() == boxes.count()
    assert page.locator("[data-tick]").inner_text() == "Untick all on this page"
    kept = int(boxes.first.get_attribute("value"))
    boxes.first.uncheck()
    ticked = {int(v) for v in page.eval_on_selector_all("input[name=ids]:checked", "els => els.map(e => e.value)")}
    page.click("#ticked button[value=reject]")
    assert f"{len(ticked)} responses will become: Rejected." in page.locator("main").inner_text()
    page.click("button[value=yes]")
    assert "channel=interview" in page.url
    with live_app.app_context():
        rejected = set(db.session().exec(select(Response.id).where(Response.review_status == "rejected")).all())
    assert rejected == ticked and kept not in rejected
    context.close()

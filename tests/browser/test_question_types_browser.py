"""The newer question types in Chromium: on the self-completion pages and in the offline collect app."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from surveys.xlsform import import_xlsform
from tests.browser.test_collect_browser import interview, volunteer_page, wait_until_sent
from tests.browser.test_surveys_browser import phone_context, serious_violations, stored, walk
from web import catalog, db
from web.privacy import operations as privacy

FORMS = Path(__file__).resolve().parents[1] / "fixtures/xlsforms"
FORM = FORMS / "khaosat-time_datetime.xlsx"
EXPECTED = {"ward_pick": "1", "visit_time": "10:30", "visit_at": "2026-03-04T08:15"}


@pytest.fixture
def timed(live_app):
    with live_app.app_context():
        catalog.publish(db.session(), import_xlsform(FORM), controller="Test controller", contact="test@example.org")
        yield live_app.config["BASE_URL"]


@pytest.mark.parametrize("javascript", [True, False])
def test_time_and_date_time_on_the_pages(live_app, browser, timed, javascript):
    context = phone_context(browser, "vi", javascript=javascript)
    assert walk(live_app, context.new_page(), "thoi-gian", "vi", axe=javascript) == []
    context.close()
    [response] = stored(live_app)
    assert response.answers == EXPECTED


def test_time_and_date_time_in_the_offline_app(live_app, browser, timed):
    with live_app.app_context():
        inst = catalog.instrument_of(catalog.current_version(db.session(), "thoi-gian"))
    context, page = volunteer_page(live_app, browser)
    page.select_option("#ward", "70")
    interview(page, inst)
    page.get_by_role("button", name=inst.text(inst.title, "vi")).click()
    page.wait_for_selector("#interview:not([hidden])")
    assert page.locator("input[name=visit_time]").get_attribute("type") == "time"
    assert page.locator("input[name=visit_at]").get_attribute("type") == "datetime-local"
    assert serious_violations(page) == []
    wait_until_sent(page, expect=("draft",))  # the second interview, opened to look at its widgets
    context.close()
    [response] = stored(live_app)
    assert response.answers == EXPECTED and response.channel == "interview"


@pytest.mark.parametrize("javascript", [True, False])
def test_contact_types_on_the_pages_stay_apart_from_the_answers(live_app, browser, javascript):
    with live_app.app_context():
        catalog.publish(db.session(), import_xlsform(FORMS / "khaosat-contact.xlsx"), controller="Test controller",
                        contact="test@example.org")
    context = phone_context(browser, "en", javascript=javascript)
    assert walk(live_app, context.new_page(), "lien-he", "en", axe=javascript) == []
    context.close()
    [response] = stored(live_app)
    assert response.answers == {"age_q": 1}
    with live_app.app_context():
        kept = privacy.personal_details_of(db.session(), response.id)
    assert (kept.phone, kept.email, kept.latitude, kept.location_consent) == (
        "0912345678", "lan.nguyen@example.vn", 21.0285, True)


def test_contact_types_in_the_offline_app(live_app, browser):
    with live_app.app_context():
        catalog.publish(db.session(), import_xlsform(FORMS / "khaosat-contact.xlsx"), controller="Test controller",
                        contact="test@example.org")
        inst = catalog.instrument_of(catalog.current_version(db.session(), "lien-he"))
    context, page = volunteer_page(live_app, browser)
    page.select_option("#ward", "70")
    interview(page, inst)
    wait_until_sent(page)
    context.close()
    [response] = stored(live_app)
    assert response.answers == {"age_q": 1}
    with live_app.app_context():
        kept = privacy.personal_details_of(db.session(), response.id)
    assert (kept.phone, kept.email, kept.longitude, kept.accuracy_m) == (
        "0912345678", "lan.nguyen@example.vn", 105.8542, 12)


HYPHENS = {"kobo-age": 1, "kobo_age": 1, "has-phone": "1", "used-apps": ["zalo"], "kobo-date_time": "2026-10-01",
           "age-next": 2}


def shown_unless_scripted(locator, javascript: bool) -> None:
    """Hidden by the page's skip logic where JavaScript runs (waiting for the script), shown where it does not."""
    if javascript:
        expect(locator).to_be_hidden()
    else:
        expect(locator).to_be_visible()


@pytest.fixture
def hyphens(live_app):
    with live_app.app_context():
        catalog.publish(db.session(), import_xlsform(FORMS / "khaosat-hyphen_names.xlsx"), controller="Test controller",
                        contact="test@example.org")
        return catalog.instrument_of(catalog.current_version(db.session(), "gach-noi"))


@pytest.mark.parametrize("javascript", [True, False])
def test_hyphenated_names_on_the_pages(live_app, browser, hyphens, javascript):
    """``${has-phone}`` shows the apps question as soon as "Yes" is ticked (JavaScript), or the server
    keeps it (without); ``${kobo-age} + 1`` is computed either way."""
    context = phone_context(browser, "en", javascript=javascript)
    page = context.new_page()
    page.goto(f"{live_app.config['BASE_URL']}/s/gach-noi?lang=en")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url("**/p/*")
    apps = page.locator("input[name=used-apps]").first
    shown_unless_scripted(apps, javascript)  # hidden by skip logic until "Yes", only where JavaScript runs
    context.close()
    context = phone_context(browser, "en", javascript=javascript)
    assert walk(live_app, context.new_page(), "gach-noi", "en", axe=javascript) == []
    context.close()
    [response] = stored(live_app)
    assert response.answers == HYPHENS


def test_hyphenated_names_in_the_offline_app(live_app, browser, hyphens):
    context, page = volunteer_page(live_app, browser)
    page.select_option("#ward", "70")
    interview(page, hyphens)
    wait_until_sent(page)
    context.close()
    [response] = stored(live_app)
    assert response.answers == HYPHENS and response.channel == "interview"


@pytest.mark.parametrize("javascript", [True, False])
def test_choices_from_an_attached_csv_on_the_pages(live_app, browser, javascript):
    with live_app.app_context():
        catalog.publish(db.session(), import_xlsform(FORMS / "khaosat-select_from_file.xlsx",
                                                     attachments={"wards.csv": FORMS / "wards.csv"}),
                        controller="Test controller", contact="test@example.org")
    context = phone_context(browser, "en", javascript=javascript)
    assert walk(live_app, context.new_page(), "phuong", "en", axe=javascript) == []
    context.close()
    [response] = stored(live_app)
    assert response.answers == {"home_ward": "70", "work_wards": ["70"]}


@pytest.mark.parametrize("javascript", [True, False])
def test_a_group_inside_a_repeat_on_the_pages(live_app, browser, javascript):
    """A roster row's questions for older members appear once that row's age is 60 or more (JavaScript),
    or are all shown and the server keeps only the relevant ones (without)."""
    with live_app.app_context():
        catalog.publish(db.session(), import_xlsform(FORMS / "khaosat-group_in_repeat.xlsx"),
                        controller="Test controller", contact="test@example.org")
    context = phone_context(browser, "en", javascript=javascript)
    page = context.new_page()
    page.goto(f"{live_app.config['BASE_URL']}/s/ho-gia-dinh?lang=en")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url("**/p/*")  # the first page, however long a loaded machine takes
    phone = page.locator("input[name='members.0.m_phone']").first
    shown_unless_scripted(phone, javascript)
    page.fill("input[name='members.0.m_age']", "30")
    shown_unless_scripted(phone, javascript)
    page.fill("input[name='members.0.m_age']", "70")
    expect(phone).to_be_visible()
    page.check("input[name='members.0.m_phone'][value='1']")
    page.fill("input[name='members.0.m_call']", "09:30")
    if javascript:
        assert serious_violations(page) == []
    page.get_by_role("button", name="Next", exact=True).click()
    page.wait_for_url("**/done**")
    context.close()
    [response] = stored(live_app)
    assert response.answers == {"members": [{"m_age": 70, "m_phone": "1", "m_call": "09:30"}]}

"""The province -> commune choice of the staff pages (ward briefs, ward assignments) in a real browser, for
surveys covering two provinces: with JavaScript the communes come without a reload and a search box narrows
them ignoring diacritics; without it, "Show its communes" reloads the page with that province's communes.
At 360 px in one language and 1280 px in the other, with and without JavaScript.

With ``KHAOSAT_SCREENSHOTS=DIR`` the pages are also saved as PNG files there, to be looked at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

import surveys
from surveys import areas
from tests.browser.test_national_browser import shot
from tests.browser.test_surveys_browser import serious_violations
from web import catalog, db
from web.auth import hash_password
from web.models import User, WardAssignment

pytestmark = pytest.mark.browser
FIXTURE = Path(__file__).parent.parent / "fixtures" / "national" / "two-provinces.yaml"
HCMC = 79
PASSWORD = "correct-horse-9"
SHOW = {"vi": "Xem các phường, xã của tỉnh", "en": "Show its communes"}
OPEN = {"vi": "Mở bản tóm tắt", "en": "Open the brief"}
ASSIGN = {"vi": "Phân công", "en": "Assign"}
TAN_DINH = next(w for w in areas.wards(HCMC) if w.name == "Phường Tân Định")


@pytest.fixture
def two_cities(live_app):
    with live_app.app_context():
        session = db.session()
        catalog.publish(session, surveys.load_yaml(FIXTURE), controller=catalog.DEMO_CONTROLLER,
                        contact=catalog.DEMO_CONTACT)
        for username, role in (("boss", "admin"), ("reader", "researcher"), ("vol", "volunteer")):
            session.add(User(username=username, role=role, password_hash=hash_password(PASSWORD)))
        session.commit()
    return live_app


def signed_in(browser, app, username: str, width: int, javascript: bool, then: str):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN",
                                  java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{app.config['BASE_URL']}/accounts/login?next={then}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"**{then.split('?')[0]}*")
    return context, page


def pick_with_script(page, name: str = "ward_code") -> None:
    """Choose Hồ Chí Minh City, wait for its 168 communes, and find Tân Định by typing without accents."""
    assert page.locator("[data-area-show]").is_hidden()  # the script fetches instead of reloading
    page.select_option(f"#i-{name}-province", str(HCMC))
    page.wait_for_function(f"() => document.getElementById('i-{name}').options.length === 169")
    page.fill(f"#i-{name}-find", "tan dinh")
    shown = page.eval_on_selector_all(f"#i-{name} option:not([hidden])", "os => os.map(o => o.textContent)")
    assert shown[1:] == ["Phường Tân Định"]
    page.select_option(f"#i-{name}", str(TAN_DINH.code))


def pick_without_script(page, lang: str, name: str = "ward_code") -> None:
    """Choose the province, press "Show its communes", then the commune from the page that comes back."""
    assert page.locator(f"#i-{name}").is_hidden() and page.locator(f"#i-{name}-find").is_hidden()
    page.select_option(f"#i-{name}-province", str(HCMC))
    with page.expect_navigation(url=f"**province={HCMC}*"):
        page.get_by_role("button", name=SHOW[lang]).click()
    assert page.locator(f"#i-{name} option").count() == 169
    page.select_option(f"#i-{name}", str(TAN_DINH.code))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("width, lang", [(360, "vi"), (1280, "en")])
def test_a_researcher_opens_a_communes_brief_province_first(two_cities, browser, lang, width, javascript):
    context, page = signed_in(browser, two_cities, "reader", width, javascript, f"/research/wards?lang={lang}")
    page.select_option("#survey", "two-cities")
    if javascript:
        pick_with_script(page)
    else:
        pick_without_script(page, lang)
        page.select_option("#survey", "two-cities")  # the GET form came back with the survey chosen
    shot(page, f"briefs-{'js' if javascript else 'nojs'}-{lang}-{width}")
    if javascript:  # (page.evaluate waits forever with JavaScript off; the markup is the same)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        assert serious_violations(page) == []
    with page.expect_navigation(url=f"**/research/two-cities/ward/{TAN_DINH.code}*"):
        page.get_by_role("button", name=OPEN[lang]).click()
    assert page.locator("h1").inner_text().startswith("Phường Tân Định")
    assert "Thành phố Hồ Chí Minh" in page.locator("h1").inner_text()
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("width, lang", [(1280, "vi"), (360, "en")])
def test_an_admin_assigns_a_commune_of_another_province(two_cities, browser, lang, width, javascript):
    context, page = signed_in(browser, two_cities, "boss", width, javascript, f"/admin/assignments?lang={lang}")
    if javascript:
        pick_with_script(page)
    else:
        pick_without_script(page, lang)
    page.select_option("#user_id", label="vol (volunteer)")
    shot(page, f"assignments-{'js' if javascript else 'nojs'}-{lang}-{width}")
    if javascript:  # (page.evaluate waits forever with JavaScript off; the markup is the same)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        assert serious_violations(page) == []
    with page.expect_navigation(url="**/admin/assignments"):
        page.get_by_role("button", name=ASSIGN[lang], exact=True).click()
    assert "Phường Tân Định" in page.locator("table").inner_text()
    with two_cities.app_context():
        assert [a.ward_code for a in db.session().exec(select(WardAssignment))] == [TAN_DINH.code]
    context.close()

"""The province -> commune question in a real browser: online with JavaScript (communes fetched, search
ignoring diacritics), with JavaScript off (two server-rendered steps), offline in the collection app (the
area list kept by the service worker); and the national demo's results page listing all 34 provinces in
Vietnamese order. At 360 and 1280 px, in vi and en.

With ``KHAOSAT_SCREENSHOTS=DIR`` the pages are also saved as PNG files there, to be looked at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import select

import surveys
from surveys import areas, collation
from tests.browser.test_collect_browser import volunteer_page
from tests.conftest import NATIONAL
from web import catalog, db
from web.demo import seed_accounts
from web.models import Response
from web.national_demo import SLUG

pytestmark = pytest.mark.browser
FIXTURE = Path(__file__).parent.parent / "fixtures" / "national" / "whole-country.yaml"
SHOTS = os.environ.get("KHAOSAT_SCREENSHOTS")
HCMC = 79
START = {"vi": "Bắt đầu", "en": "Start"}
SHOW = {"vi": "Xem các phường, xã của tỉnh", "en": "Show its communes"}
NEXT = {"vi": "Tiếp", "en": "Next"}
PROVINCE_ORDER = [p.name for p in sorted(areas.provinces(), key=lambda p: collation.province_key(p.name))]


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture
def national_survey(live_app):
    with live_app.app_context():
        catalog.publish(db.session(), surveys.load_yaml(FIXTURE), controller=catalog.DEMO_CONTROLLER,
                        contact=catalog.DEMO_CONTACT)
    return live_app


def stored_wards(app) -> list[int]:
    with app.app_context():
        return [r.ward_code for r in db.session().exec(select(Response)).all()]


def started(browser, app, width: int, lang: str, javascript: bool):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN",
                                  java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{app.config['BASE_URL']}/s/whole-country?lang={lang}")
    with page.expect_navigation(url="**/p/0"):
        page.get_by_role("button", name=START[lang]).click()
    return context, page


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_with_javascript_the_communes_come_without_a_reload_and_the_search_ignores_diacritics(
        national_survey, browser, width, lang):
    context, page = started(browser, national_survey, width, lang, javascript=True)
    assert page.locator("[data-area-show]").is_hidden()  # the script fetches instead
    assert page.locator("#i-ward").is_hidden()
    page.select_option("#i-ward-province", str(HCMC))
    page.wait_for_function("() => document.getElementById('i-ward').options.length === 169")
    page.fill("#i-ward-find", "tan dinh")
    shown = page.eval_on_selector_all("#i-ward option:not([hidden])", "os => os.map(o => o.textContent)")
    assert shown == ["Chọn…" if lang == "vi" else "Choose…", "Phường Tân Định"]
    tan_dinh = next(w for w in areas.wards(HCMC) if w.name == "Phường Tân Định")
    page.select_option("#i-ward", str(tan_dinh.code))
    shot(page, f"question-js-{lang}-{width}")
    with page.expect_navigation(url="**/p/1"):
        page.get_by_role("button", name=NEXT[lang]).click()
    context.close()


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_with_javascript_off_the_province_then_its_communes_in_two_steps(national_survey, browser, width, lang):
    context, page = started(browser, national_survey, width, lang, javascript=False)
    assert page.locator("#i-ward-province option").count() == 35
    assert page.locator("#i-ward option").count() == 1  # no commune before the province
    shot(page, f"question-nojs-step1-{lang}-{width}")
    page.select_option("#i-ward-province", "1")
    with page.expect_navigation(url="**ward.province=1**"):
        page.get_by_role("button", name=SHOW[lang]).click()
    names = page.eval_on_selector_all("#i-ward option", "os => os.slice(1).map(o => o.textContent)")
    assert names == [w.name for w in sorted(areas.wards(1), key=lambda w: collation.ward_key(w.name, w.division_type))]
    shot(page, f"question-nojs-step2-{lang}-{width}")
    page.select_option("#i-ward", "70")  # Phường Hoàn Kiếm
    with page.expect_navigation(url="**/p/1"):
        page.get_by_role("button", name=NEXT[lang]).click()
    page.locator("input[name=satisfied][value='1']").check()
    with page.expect_navigation(url="**/done"):
        page.get_by_role("button", name=NEXT[lang]).click()
    assert 70 in stored_wards(national_survey)
    context.close()


def test_offline_the_collection_app_picks_province_then_commune_from_the_kept_list(national_survey, browser):
    context, page = volunteer_page(national_survey, browser, "vol-national")
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("#province")
    assert page.eval_on_selector_all("#province option", "os => os.slice(1).map(o => o.textContent)") == PROVINCE_ORDER
    page.select_option("#province", str(HCMC))
    page.wait_for_function("() => document.getElementById('ward').options.length === 169")
    page.fill("#ward-find", "ben thanh")
    assert page.eval_on_selector_all("#ward option", "os => os.slice(1).map(o => o.textContent)") == ["Phường Bến Thành"]
    page.select_option("#ward", index=1)
    shot(page, "collect-offline-360")
    page.reload()  # the choice is kept on the phone, and shown again with its province
    page.wait_for_function("() => document.getElementById('ward').options.length > 1")
    assert page.locator("#province").input_value() == str(HCMC)
    assert page.locator("#ward option:checked").inner_text() == "Phường Bến Thành"
    context.close()


def test_the_national_demo_results_list_all_34_provinces_in_vietnamese_order(live_app, live_demo, browser):
    """The national demo (24 a province, seeded once per run; its weights then made once) for both languages and
    widths."""
    live_demo(NATIONAL)
    with live_app.app_context():
        seed_accounts(db.session())
    base = live_app.config["BASE_URL"]
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/accounts/login")  # one login for every language and width
    page.fill("input[name=username]", "demo-researcher")
    page.fill("input[name=password]", "khaosat-researcher")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    for lang in ("vi", "en"):
        for width in (360, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base}/research/{SLUG}?level=province&lang={lang}")
            cells = page.eval_on_selector_all("#results-table tbody tr td:first-child",
                                              "tds => tds.map(t => t.textContent)")
            assert cells == PROVINCE_ORDER, (lang, width)
            shot(page, f"results-national-{lang}-{width}")
    context.close()

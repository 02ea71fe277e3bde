"""An admin walks a survey's life in Chromium, on a phone and a desktop, in Vietnamese and English:
upload an XLSForm, review its name, fill the privacy settings, preview it through the real pages,
publish it (it appears on the home page), close it (a kind page). ``KHAOSAT_SCREENSHOTS=DIR`` keeps
a screenshot of every step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import select

from web import db
from web.auth import hash_password
from web.models import Response, User

XLSFORM = Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms" / "pyxform-yes_or_no_question.xlsx"
SLUG = "pyxform-yes-or-no-question"
SHOTS = os.environ.get("KHAOSAT_SCREENSHOTS")
PASSWORD = "lifecycle-walk-9"
TEXT = {
    "vi": {"start": "Bắt đầu", "next": "Tiếp", "save": "Lưu thành bản nháp", "publish": "Công bố",
           "closed": "Khảo sát này đã đóng", "banner": "được lưu là bài thử"},
    "en": {"start": "Start", "next": "Next", "save": "Save as a draft", "publish": "Publish",
           "closed": "This survey is closed", "banner": "kept as tests"},
}


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def state_button(page, to: str):
    return page.locator(f"tr[data-slug='{SLUG}'] form:has(input[name=state][value={to}]) button")


@pytest.mark.parametrize(("width", "lang"), [(360, "vi"), (1280, "en"), (360, "en"), (1280, "vi")])
def test_upload_review_preview_publish_close(live_app, browser, width, lang):
    base, words, tag = live_app.config["BASE_URL"], TEXT[lang], f"{width}-{lang}"
    with live_app.app_context():
        db.session().add(User(username="walker", role="admin", password_hash=hash_password(PASSWORD)))
        db.session().commit()
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/accounts/login?lang={lang}")
    page.fill("input[name=username]", "walker")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main button[type=submit]").click()

    page.goto(f"{base}/admin/surveys?lang={lang}")
    page.set_input_files("input[name=instrument]", str(XLSFORM))
    shot(page, f"{tag}-1-upload")
    page.locator("#upload-form button[type=submit]").click()
    page.wait_for_url("**/admin/surveys/upload/**")
    assert page.input_value("input[name=slug]") == SLUG
    assert "pyxform-yes_or_no_question.xlsx" in page.locator("main").inner_text()
    page.fill("input[name=title_en]", "A good day")
    shot(page, f"{tag}-2-review")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_url("**/settings")
    page.fill("input[name=controller]", "UBND phường Hoàn Kiếm")
    page.fill("input[name=privacy_contact]", "024 3825 0000")
    page.locator("form:has(input[name=controller]) button[type=submit]").click()  # not the area form's
    page.wait_for_url("**/admin/surveys")
    assert page.locator(f"tr[data-slug='{SLUG}']").get_attribute("data-state") == "draft"
    assert f"/s/{SLUG}" not in page.request.get(f"{base}/").text()
    shot(page, f"{tag}-3-draft")

    state_button(page, "preview").click()
    page.locator(f"tr[data-slug='{SLUG}'] a[href*='/preview/']").click()
    assert words["banner"] in page.locator("#preview-banner").inner_text()
    shot(page, f"{tag}-4-preview-start")
    page.get_by_role("button", name=words["start"]).click()
    page.check("input[name=good_day][value=yes]")
    shot(page, f"{tag}-5-preview-page")
    page.get_by_role("button", name=words["next"], exact=True).click()
    page.wait_for_url("**/done")
    with live_app.app_context():
        assert [r.is_test for r in db.session().exec(select(Response)).all()] == [True]

    page.goto(f"{base}/admin/surveys?lang={lang}")
    page.locator(f"tr[data-slug='{SLUG}'] details.publish summary").click()
    shot(page, f"{tag}-6-publish")
    page.locator(f"tr[data-slug='{SLUG}'] details.publish button[type=submit]").click()
    page.wait_for_url("**/admin/surveys")
    assert page.locator(f"tr[data-slug='{SLUG}']").get_attribute("data-state") == "open"
    assert page.evaluate("document.documentElement.scrollWidth") <= max(width, 1280)
    shot(page, f"{tag}-7-published")
    page.goto(f"{base}/?lang={lang}")
    assert page.locator(f"a[href*='/s/{SLUG}']").count() == 1
    shot(page, f"{tag}-8-home")

    page.goto(f"{base}/admin/surveys?lang={lang}")
    state_button(page, "closed").click()
    page.wait_for_url("**/admin/surveys")
    public = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    public.goto(f"{base}/s/{SLUG}?lang={lang}")
    assert words["closed"] in public.locator("main").inner_text()
    shot(public, f"{tag}-9-closed")
    public.context.close()
    context.close()

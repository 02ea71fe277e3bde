"""An admin checks a margins file in a real browser and sees what it would change before saving it;
a researcher reads the note on results by former district. Both at 360 and 1280 px, in vi and en.

With ``KHAOSAT_SCREENSHOTS=DIR`` the pages are also saved as PNG files there, to be looked at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from surveys import areas
from web import db

pytestmark = pytest.mark.browser
WIDTHS = (360, 1280)
SHOTS = os.environ.get("KHAOSAT_SCREENSHOTS")


@pytest.fixture
def seeded(live_app, live_demo):
    live_demo(8)
    return live_app


def open_page(browser, base: str, role: str):
    """A page logged in as ``role``, once for every language and width (each sets its own)."""
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", f"demo-{role}")
    page.fill("input[name=password]", f"khaosat-{role}")
    with page.expect_navigation():
        page.click("button[type=submit]")
    return context, page


def at_width(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_a_one_ward_margins_file_shows_what_it_removes_and_saves_only_when_confirmed(seeded, browser, tmp_path):
    base = seeded.config["BASE_URL"]
    ward = areas.wards(areas.HANOI)[3]
    upload = tmp_path / "one-ward.csv"
    upload.write_text(f"ward_code,ward_name,sex,age_band,count\n{ward.code},{ward.name},1,16-29,1234\n",
                      encoding="utf-8")
    expected = {"en": ("125 wards removed (not in the file)", "1 ward changed", "The file leaves out 125 wards"),
                "vi": ("125 phường, xã bị xóa (không có trong tệp)", "1 phường, xã thay đổi", "Tệp thiếu 125 phường, xã")}
    context, page = open_page(browser, base, "admin")
    for lang, (removed, changed, refused) in expected.items():
        for width in WIDTHS:
            at_width(page, width)
            page.goto(f"{base}/research/margins?lang={lang}")
            page.set_input_files("input[type=file]", str(upload))
            page.click("form[enctype] button[type=submit]")
            page.wait_for_load_state()  # the preview's tables come after its summary: count them once parsed
            summary = page.locator("section.preview ul.summary").inner_text()
            assert removed in summary and changed in summary
            assert page.locator("section.preview table").first.locator("tbody tr").count() == 125
            assert page.evaluate("document.documentElement.scrollWidth") <= width  # tables scroll in their box
            shot(page, f"margins-preview-{lang}-{width}")
            page.click("section.preview button[type=submit]")  # without ticking the box
            assert refused in page.locator("div.error").inner_text()
    with seeded.app_context(), db.engine().connect() as conn:
        assert conn.execute(text("SELECT COUNT(DISTINCT ward_code) FROM population_margins")).scalar_one() == 126
    at_width(page, 1280)
    page.goto(f"{base}/research/margins?lang=en")
    page.set_input_files("input[type=file]", str(upload))
    page.click("form[enctype] button[type=submit]")
    page.check("input[name=remove_missing]")
    page.click("section.preview button[type=submit]")
    assert "Population margins saved: 1 cells." in page.content()
    context.close()


def test_results_by_former_district_list_the_wards_formed_from_several(seeded, browser):
    base = seeded.config["BASE_URL"]
    expected = {"en": "The 64 wards and communes formed from parts of several former districts",
                "vi": "64 phường, xã được hình thành từ các phần của nhiều quận, huyện cũ"}
    context, page = open_page(browser, base, "researcher")
    for lang, summary in expected.items():
        for width in WIDTHS:
            at_width(page, width)
            page.goto(f"{base}/research/digital-skills?indicator=dsi_index&level=former_district&lang={lang}")
            note = page.locator("div.former-districts")
            assert summary in note.locator("summary").inner_text()
            assert not note.locator("table").is_visible()
            note.locator("summary").click()
            assert note.locator("tbody tr").count() == 64 and note.locator("table").is_visible()
            # the note and its list stay within the screen (the list scrolls in its own box)
            assert note.evaluate("e => e.getBoundingClientRect().right") <= width
            assert note.locator("p").evaluate("e => e.scrollWidth <= e.clientWidth")  # long file names wrap
            note.scroll_into_view_if_needed()
            shot(page, f"former-districts-{lang}-{width}")
    context.close()

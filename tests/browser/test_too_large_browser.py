"""A survey over KHAOSAT_CELLS_IN_DATABASE_THRESHOLD in a real browser: its results page says, under a short
heading, why its figures are not shown here, in the reader's language, with no setting's name in it,
and the message wraps rather than push a phone's page sideways."""

from __future__ import annotations

import pytest

from tests.browser.test_jobs_browser import log_in

pytestmark = pytest.mark.browser

HEADING = {"vi": "Quá nhiều phiếu trả lời để máy chủ này hiển thị trang kết quả",
           "en": "Too many responses for results pages on this server"}
SAYS = {"vi": "Quản trị viên vẫn có thể tải tệp dữ liệu đầy đủ",
        "en": "An administrator can still download its full data file"}


@pytest.mark.parametrize(("width", "lang"), [(360, "vi"), (1280, "en")])
def test_a_survey_too_large_for_results_pages_says_why(live_app, live_demo, browser, tmp_path, width, lang):
    live_demo(4)
    live_app.config.update(KHAOSAT_CELLS_IN_DATABASE_THRESHOLD=100, KHAOSAT_WEIGHTING_JOB_THRESHOLD=50,
                           KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, live_app.config["BASE_URL"])
    answer = page.goto(f"{live_app.config['BASE_URL']}/research/digital-skills?lang={lang}")
    assert answer.status == 409
    assert page.locator("h1").inner_text() == HEADING[lang]
    assert SAYS[lang] in page.locator("p.error-message").inner_text()
    assert "KHAOSAT_" not in page.locator("main").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()

"""A resident on a 360 px phone, in Vietnamese and English: progress that only moves forward, a failed
page brought back by its resume code, wards in Vietnamese order, the privacy notice before consent,
read-aloud and larger text. A result that adds up and the time on the Hà Nội clock are checked by the
walks of test_surveys_browser.py, which reach those pages anyway."""

from __future__ import annotations

import re

import pytest

from surveys import areas, collation
from tests.browser.answering import answer_page
from tests.browser.test_surveys_browser import (
    NEXT,
    START,
    instrument,
    phone_context,
    serious_violations,
)
from web import db
from web.auth import hash_password
from web.models import User

LANGS = ["vi", "en"]
READ_ALOUD = {"vi": "Nghe câu hỏi", "en": "Read aloud"}
#: a speechSynthesis with the given voices that records what it is asked to say
FAKE_SPEECH = """
(voices) => {
  window.__spoken = [];
  const synth = {
    getVoices: () => voices.map((lang, i) => ({name: "Test " + lang, lang, voiceURI: "test-" + i, default: i === 0,
                                               localService: true})),
    speak: (u) => window.__spoken.push({text: u.text, lang: u.lang}),
    cancel: () => {}, addEventListener: () => {}, speaking: false, pending: false,
  };
  Object.defineProperty(window, "speechSynthesis", {value: synth, configurable: true});
}
"""


def start(page, base: str, lang: str, slug: str = "digital-skills") -> None:
    page.goto(f"{base}/s/{slug}?lang={lang}")
    page.get_by_role("button", name=START[lang]).click()
    page.wait_for_url("**/p/*")


def progress(page) -> tuple[int, int]:
    bar = page.locator("progress")
    return int(bar.get_attribute("value")), int(bar.get_attribute("max"))


@pytest.mark.parametrize("lang", LANGS)
def test_progress_only_moves_forward_on_a_walk_with_skips(live_app, browser, lang):
    inst = instrument(live_app, "digital-skills")
    turns = {"vi": {"internet_3m": "0", "consent_sensitive": "1"},  # skips the activity pages
             "en": {"internet_3m": "1", "consent_sensitive": "0"}}[lang]  # skips the functioning page
    context = phone_context(browser, lang)
    page = context.new_page()
    start(page, live_app.config["BASE_URL"], lang)
    seen = []
    while "/p/" in page.url:
        index = int(page.url.rsplit("/p/", 1)[1].split("?")[0])
        seen.append(progress(page))
        answer_page(page, inst.pages[index].questions)
        for name, code in turns.items():
            radio = page.locator(f"input[name={name}][value='{code}']")
            if radio.count():
                radio.check()
        page.get_by_role("button", name=NEXT[lang], exact=True).click()
        page.wait_for_load_state()
    shares = [n / total for n, total in seen]
    assert shares == sorted(shares), seen
    assert seen[-1] == (len(seen), len(seen)) and len(seen) < len(inst.pages), "pages were skipped"
    assert [t for _n, t in seen] == sorted((t for _n, t in seen), reverse=True), seen
    context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_a_page_that_failed_comes_back_as_typed_with_its_resume_code(live_app, browser, lang):
    inst = instrument(live_app, "digital-skills")
    base = live_app.config["BASE_URL"]
    first = phone_context(browser, lang)
    page = first.new_page()
    start(page, base, lang)
    answer_page(page, inst.pages[0].questions)
    page.get_by_role("button", name=NEXT[lang], exact=True).click()
    page.wait_for_url("**/p/1*")
    page.fill("input[name=birth_year]", "19588")
    page.check("input[name=sex][value='2']")
    page.get_by_role("button", name=NEXT[lang], exact=True).click()
    assert page.locator("p.error[role=alert]").is_visible()
    code = re.search(r"([2-9A-Z]{8})", page.locator("form .hint").last.inner_text())[1]
    first.close()
    second = phone_context(browser, lang)
    other = second.new_page()
    other.goto(f"{base}/resume?lang={lang}")
    other.fill("#code", code)
    other.locator("form button[type=submit]").click()
    other.wait_for_url("**/p/1*")
    assert other.input_value("input[name=birth_year]") == "19588"
    assert other.is_checked("input[name=sex][value='2']")
    assert other.locator("#e-birth_year").is_visible()
    second.close()


@pytest.mark.parametrize("lang", LANGS)
def test_wards_are_in_vietnamese_order(live_app, browser, lang):
    context = phone_context(browser, lang)
    page = context.new_page()
    start(page, live_app.config["BASE_URL"], lang)
    answer_page(page, instrument(live_app, "digital-skills").pages[0].questions)
    page.get_by_role("button", name=NEXT[lang], exact=True).click()
    page.wait_for_url("**/p/1*")
    names = page.locator("select[name=ward] option").all_inner_texts()[1:]
    wards = {w.name: w for w in areas.wards(areas.HANOI)}
    assert names == sorted(names, key=lambda n: collation.ward_key(n, wards[n].division_type))
    assert names != sorted(names), "not the code-point order"
    context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_privacy_notice_comes_before_consent_and_is_linked_from_every_page(live_app, browser, lang):
    base = live_app.config["BASE_URL"]
    context = phone_context(browser, lang)
    page = context.new_page()
    page.goto(f"{base}/s/digital-skills?lang={lang}")
    notice = page.locator("#privacy")
    assert notice.locator(".controller").inner_text().strip()
    assert notice.locator(".contact").inner_text().strip()
    headings = notice.locator("h3").all_inner_texts()
    assert len(headings) == 6
    assert page.locator("#privacy").bounding_box()["y"] < page.get_by_role("button", name=START[lang]).bounding_box()["y"]
    assert serious_violations(page) == []
    page.get_by_role("button", name=START[lang]).click()
    page.wait_for_url("**/p/0*")
    assert page.locator("input[name=consent]").count() == 1, "consent comes after the notice"
    footer = page.locator("footer a").first
    assert footer.get_attribute("href").endswith("/privacy/digital-skills")
    page.goto(f"{base}/?lang={lang}")
    assert page.locator("footer a[href='/erase']").count() == 1
    assert page.locator("footer a[href='/privacy']").count() == 1
    page.goto(f"{base}/privacy/digital-skills?lang={lang}")
    assert page.locator("h2").count() == 6 and serious_violations(page) == []
    context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_read_aloud_is_hidden_without_a_voice(live_app, browser, lang):
    context = phone_context(browser, lang)
    context.add_init_script(f"({FAKE_SPEECH})([])")
    page = context.new_page()
    start(page, live_app.config["BASE_URL"], lang)
    assert page.locator("button.speak").count() >= 1
    assert page.get_by_role("button", name=READ_ALOUD[lang]).count() == 0
    context.close()


def test_read_aloud_speaks_the_question_in_vietnamese_when_a_voice_exists(live_app, browser):
    inst = instrument(live_app, "digital-skills")
    context = phone_context(browser, "vi")
    context.add_init_script(f"({FAKE_SPEECH})(['en-US', 'vi-VN'])")
    page = context.new_page()
    start(page, live_app.config["BASE_URL"], "vi")
    buttons = page.get_by_role("button", name=READ_ALOUD["vi"])
    assert buttons.count() == len([q for q in inst.pages[0].questions if q.type != "calculate"])
    buttons.first.click()
    [spoken] = page.evaluate("window.__spoken")
    assert spoken["lang"] == "vi-VN"
    assert spoken["text"].startswith(inst.text(inst.pages[0].questions[0].label, "vi"))
    context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_larger_text_persists_and_keeps_the_answers(live_app, browser, javascript):
    inst = instrument(live_app, "digital-skills")
    context = phone_context(browser, "vi", javascript=javascript)
    page = context.new_page()
    start(page, live_app.config["BASE_URL"], "vi")
    answer_page(page, inst.pages[0].questions)
    before = page.evaluate("parseFloat(getComputedStyle(document.querySelector('legend')).fontSize)")
    page.get_by_role("button", name="Chữ lớn hơn").click()
    page.wait_for_load_state()
    after = page.evaluate("parseFloat(getComputedStyle(document.querySelector('legend')).fontSize)")
    assert after > before * 1.15
    assert page.is_checked("input[name=consent]"), "nothing typed is lost"
    page.reload()
    assert page.evaluate("document.body.classList.contains('large-text')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_admin_privacy_settings_page_at_360_px(live_app, browser, lang):
    with live_app.app_context():
        db.session().add(User(username="owner", role="admin", password_hash=hash_password("correct-horse-9")))
        db.session().commit()
    base = live_app.config["BASE_URL"]
    context = phone_context(browser, lang)
    page = context.new_page()
    page.goto(f"{base}/accounts/login?lang={lang}")
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", "correct-horse-9")
    with page.expect_navigation():  # let the POST finish: a goto now would cancel it under load
        page.locator("main button[type=submit]").click()
    page.goto(f"{base}/admin/surveys/1/settings?lang={lang}")
    assert page.input_value("input[name=controller]").startswith("KhaoSat demo")
    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.fill("input[name=controller]", "UBND phường Ô Chợ Dừa, 2 Xã Đàn")
    with page.expect_navigation():  # let the POST finish: a goto now would cancel it under load
        page.locator("form:has(input[name=controller]) button[type=submit]").click()  # not the area form's
    page.goto(f"{base}/privacy/{'digital-skills'}?lang={lang}")
    assert "UBND phường Ô Chợ Dừa, 2 Xã Đàn" in page.locator(".controller").inner_text()
    context.close()

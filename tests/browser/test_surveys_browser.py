"""Residents complete every built-in survey on a 360x740 phone: in Vietnamese (with axe-core on every
page), in English, and with JavaScript off; switching language keeps every answer. A walk that reaches a
survey's last page checks what that page shows (a result that adds up, the time on the Hà Nội clock): a
walk costs several seconds of a browser, so one walk serves every check of the pages it passes."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import DEFAULT_OPTIONS, Axe
from sqlmodel import select

from tests.browser.answering import HOAN_KIEM, answer_page
from web import db
from web.catalog import current_version, instrument_of
from web.models import Response

SLUGS = ["digital-skills", "service-satisfaction", "officials-digital-competency"]
NEXT = {"vi": "Tiếp", "en": "Next"}
START = {"vi": "Bắt đầu", "en": "Start"}
THANKS = {"vi": "Cảm ơn bạn", "en": "Thank you"}
_axe = Axe()
AXE_RUN = f"axe.run({json.dumps(DEFAULT_OPTIONS)}).then(results => results.violations)"


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page, as readable lines. axe-core (570 kB) is sent to a
    page once and from then on loaded by each of its documents as it opens (sending it with every check: 0.12 s)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_init_script(script=_axe.axe_script)
        page.evaluate(_axe.axe_script)
    found = page.evaluate(AXE_RUN)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in found if v["impact"] in ("serious", "critical")]


def instrument(app, slug):
    with app.app_context():
        return instrument_of(current_version(db.session(), slug))


def phone_context(browser, lang: str, javascript: bool = True):
    return browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                               has_touch=True, locale="vi-VN", java_script_enabled=javascript)


def walk(app, page, slug: str, lang: str, axe: bool) -> list[str]:
    """Complete ``slug`` from its start page; returns axe findings (empty when not asked)."""
    inst = instrument(app, slug)
    base = app.config["BASE_URL"]
    problems: list[str] = []
    page.goto(f"{base}/s/{slug}?lang={lang}&ward={HOAN_KIEM}")
    assert page.get_attribute("html", "lang") == lang
    if axe:
        problems += [f"start: {p}" for p in serious_violations(page)]
    page.get_by_role("button", name=START[lang]).click()
    for _ in range(len(inst.pages) + 1):
        if "/p/" not in page.url:
            break
        index = int(page.url.rsplit("/p/", 1)[1].split("?")[0])
        assert page.locator("h1").inner_text() == inst.text(inst.pages[index].title, lang)
        answer_page(page, inst.pages[index].questions)
        if axe:
            problems += [f"page {index}: {p}" for p in serious_violations(page)]
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.get_by_role("button", name=NEXT[lang], exact=True).click()
    assert THANKS[lang] in page.locator("h1").inner_text()
    if axe:
        problems += [f"done: {p}" for p in serious_violations(page)]
    return problems


def stored(app) -> list[Response]:
    with app.app_context():
        return db.session().exec(select(Response)).all()


def result_adds_up(page, lang: str) -> None:
    """digital-skills' result: the headline is the average of the parts shown, one next step per weak area;
    in English, the profile and where to learn, with the resident's ward."""
    headline = int(page.locator("#headline strong").inner_text())
    parts = [int(p) for p in page.locator("section.part > h2 .points").all_inner_texts()]
    assert len(parts) == 2 and abs(headline - sum(parts) / 2) <= 1
    assert page.locator("#how").is_visible()
    steps = page.locator("ul.steps li strong").all_inner_texts()
    area_names = set(page.locator("section.part li[data-area] strong").all_inner_texts())
    assert len(steps) == len(set(steps)) and set(steps) <= area_names, "one next step per weak area"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    if lang == "en":
        text = page.locator("main").inner_text()
        assert "What you have done online in the last 3 months" in text and "Staying safe online" in text
        assert "Bình dân học vụ số" in text and "Hoàn Kiếm" in text


def received_on_the_hanoi_clock(page, lang: str) -> None:
    """service-satisfaction's thanks: when it was received, on the Hà Nội clock, with a four-digit year."""
    shown = page.locator("#received").inner_text()
    now = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    pattern = "%H:%M %d/%m/%Y" if lang == "vi" else "%-d %b %Y, %H:%M"
    near = {(now - dt.timedelta(minutes=m)).strftime(pattern) for m in (0, 1, 2)}
    assert any(t in shown for t in near), (shown, near)
    assert re.search(r"\b20\d\d\b", shown), "four-digit year"


#: what a survey's last page shows, checked by the walks that reach it in Vietnamese and in English
LAST_PAGE = {"digital-skills": result_adds_up, "service-satisfaction": received_on_the_hanoi_clock}


@pytest.mark.parametrize("slug", SLUGS)
def test_complete_in_vietnamese_with_axe_on_every_page(live_app, browser, slug):
    context = phone_context(browser, "vi")
    page = context.new_page()
    assert walk(live_app, page, slug, "vi", axe=True) == []
    LAST_PAGE.get(slug, lambda page, lang: None)(page, "vi")
    context.close()
    [response] = stored(live_app)
    assert response.language == "vi" and response.ward_code == int(HOAN_KIEM)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_axe_on_every_page_even_those_skip_logic_hides(live_app, browser, lang):
    """Every page of every built-in survey, opened directly (a walk sees only the relevant ones)."""
    context = phone_context(browser, lang)
    page = context.new_page()
    base = live_app.config["BASE_URL"]
    problems, checked = [], 0
    for slug in SLUGS:
        inst = instrument(live_app, slug)
        page.goto(f"{base}/s/{slug}?lang={lang}")
        problems += [f"{slug} start: {p}" for p in serious_violations(page)]
        page.get_by_role("button", name=START[lang]).click()
        page.wait_for_url("**/p/*")
        for index, survey_page in enumerate(inst.pages):
            page.goto(f"{base}/s/{slug}/p/{index}?lang={lang}")
            assert page.locator("h1").inner_text() == inst.text(survey_page.title, lang)
            assert page.get_attribute("html", "lang") == lang
            problems += [f"{slug} page {index}: {p}" for p in serious_violations(page)]
            checked += 1
        checked += 1
    context.close()
    assert checked == 3 + sum(len(instrument(live_app, s).pages) for s in SLUGS)
    assert problems == []


@pytest.mark.parametrize("slug", SLUGS)
def test_complete_in_english(live_app, browser, slug):
    """digital-skills' result differs by language: its English walk is checked with axe-core too."""
    context = phone_context(browser, "en")
    page = context.new_page()
    assert walk(live_app, page, slug, "en", axe=slug == "digital-skills") == []
    LAST_PAGE.get(slug, lambda page, lang: None)(page, "en")
    context.close()
    [response] = stored(live_app)
    assert response.language == "en"


@pytest.mark.parametrize("slug", SLUGS)
def test_complete_with_javascript_off(live_app, browser, slug):
    context = phone_context(browser, "vi", javascript=False)
    walk(live_app, context.new_page(), slug, "vi", axe=False)
    context.close()
    assert len(stored(live_app)) == 1


def test_switching_language_mid_survey_keeps_every_answer(live_app, browser):
    inst = instrument(live_app, "digital-skills")
    base = live_app.config["BASE_URL"]
    context = phone_context(browser, "vi")
    page = context.new_page()
    page.goto(f"{base}/s/digital-skills?lang=vi")
    page.get_by_role("button", name="Bắt đầu").click()
    answer_page(page, inst.pages[0].questions)
    page.get_by_role("button", name="Tiếp", exact=True).click()
    # an empty Next: errors next to the questions, in Vietnamese, focus on the first one
    page.get_by_role("button", name="Tiếp", exact=True).click()
    first_error = page.locator("fieldset.has-error").first
    assert first_error.locator("p.error").inner_text() == "Vui lòng trả lời câu hỏi này."
    # Chromium applies autofocus at its next rendering step, a moment after the text is there
    page.wait_for_function("document.activeElement && document.activeElement.closest('fieldset.has-error') !== null",
                           timeout=5000)
    questions = inst.pages[1].questions
    answer_page(page, questions)
    before = {q.name: page.locator(f"[name={q.name}]").first.input_value() if q.type in ("integer", "area") else
              page.locator(f"input[name={q.name}]:checked").first.get_attribute("value")
              for q in questions if q.type not in ("note", "calculate", "grid", "text")}
    page.get_by_role("button", name="English").click()
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("h1").inner_text() == inst.text(inst.pages[1].title, "en")
    after = {q.name: page.locator(f"[name={q.name}]").first.input_value() if q.type in ("integer", "area") else
             page.locator(f"input[name={q.name}]:checked").first.get_attribute("value")
             for q in questions if q.type not in ("note", "calculate", "grid", "text")}
    assert after == before and all(v for v in after.values())
    context.close()

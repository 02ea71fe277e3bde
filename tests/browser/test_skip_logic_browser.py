"""Skip logic in the browser: questions appear and vanish at once, with the server's own semantics."""

from __future__ import annotations

import pytest

from surveys import expressions
from tests.browser.answering import HOAN_KIEM, answer_page
from tests.browser.test_surveys_browser import instrument, phone_context, serious_violations, stored
from tests.exprjs import CASES, same


def test_browser_evaluator_agrees_with_the_server(live_app, browser):
    context = phone_context(browser, "vi")
    page = context.new_page()
    page.goto(f"{live_app.config['BASE_URL']}/s/digital-skills")
    page.get_by_role("button", name="Bắt đầu").click()
    page.wait_for_url("**/p/*")  # the draft's cookie is set: a goto now would cancel it under load
    page.goto(f"{live_app.config['BASE_URL']}/s/digital-skills/p/9")  # a page with same-page skip logic
    assert page.evaluate("() => typeof window.KSExpr") == "object"
    for src, values in CASES:
        tree = expressions.parse(src)
        py = expressions.evaluate(tree, {k: v for k, v in values.items() if v is not None})
        js = page.evaluate("([t, v]) => KSExpr.evaluate(t, v)", [tree.to_json(), values])
        assert same(py, js), (src, values, py, js)
    context.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_a_follow_up_question_shows_only_when_it_applies(live_app, browser, javascript):
    inst = instrument(live_app, "digital-skills")
    egov = next(i for i, p in enumerate(inst.pages) if p.name == "egov")
    base = live_app.config["BASE_URL"]
    context = phone_context(browser, "vi", javascript=javascript)
    page = context.new_page()
    page.goto(f"{base}/s/digital-skills?ward={HOAN_KIEM}")
    page.get_by_role("button", name="Bắt đầu").click()
    page.wait_for_url("**/p/*")
    page.goto(f"{base}/s/digital-skills/p/{egov}")
    follow_up = page.locator("#q-vneid_used")
    page.check("input[name=vneid_level][value='none']")
    assert follow_up.is_visible() is (not javascript)  # without JavaScript the server decides on Next
    page.check("input[name=vneid_level][value='2']")
    assert follow_up.is_visible()
    if javascript:
        assert serious_violations(page) == []
    context.close()


def test_an_answer_to_a_question_that_no_longer_applies_is_not_stored(live_app, browser):
    inst = instrument(live_app, "digital-skills")
    base = live_app.config["BASE_URL"]
    context = phone_context(browser, "en")
    page = context.new_page()
    page.goto(f"{base}/s/digital-skills?lang=en&ward={HOAN_KIEM}")
    page.get_by_role("button", name="Start").click()
    for _ in range(len(inst.pages) + 1):
        if "/p/" not in page.url:
            break
        index = int(page.url.rsplit("/p/", 1)[1].split("?")[0])
        answer_page(page, inst.pages[index].questions)
        if inst.pages[index].name == "egov":
            page.check("input[name=vneid_level][value='2']")
            page.check("input[name=vneid_used][value='1']")
            page.check("input[name=vneid_level][value='none']")  # hides the follow-up, answered
            assert not page.locator("#q-vneid_used").is_visible()
        page.get_by_role("button", name="Next", exact=True).click()
    [response] = stored(live_app)
    assert response.answers["vneid_level"] == "none" and "vneid_used" not in response.answers
    context.close()

"""Skip logic in the browser: questions appear and vanish at once, with the server's own semantics."""

from __future__ import annotations

import math

import pytest

from surveys import expressions
from tests.browser.answering import HOAN_KIEM, answer_page
from tests.browser.test_surveys_browser import instrument, phone_context, serious_violations, stored

CASES = [
    ("${a} >= 18 and ${b} = '1'", {"a": 20, "b": "1"}),
    ("${a} >= 18", {"a": ""}),
    ("${a} = 18", {"a": "18"}),
    ("${a} != 'none' and ${a} != ''", {"a": "none"}),
    ("${a} != 'none' and ${a} != ''", {}),
    ("selected(${m}, 'x') and not(selected(${m}, 'y'))", {"m": ["x", "z"]}),
    ("count-selected(${m}) <= 2", {"m": ["x", "y", "z"]}),
    ("if(${a} > 0, round(${b} div ${a}, 1), '')", {"a": 3, "b": 10}),
    ("if(${a} > 0, 1, 0)", {"a": ""}),
    ("${d} < today() and ${d} > '2000-01-01'", {"d": "2020-05-17"}),
    ("concat(${a}, '-', string-length(${b}))", {"a": "x", "b": "abcd"}),
    ("coalesce(${a}, ${b}) = 'y'", {"a": "", "b": "y"}),
    ("${a} mod 3 = 1 or -${a} = 4", {"a": 4}),
    ("${a} div 0", {"a": 1}),
    ("0 div 0", {}),
    ("max(${a}, 3, ${b}) + min(1, 2)", {"a": 5, "b": 2}),
    ("int(7.9) + number('2.5') + sum(${r})", {"r": [{"n": 1}, {"n": 2}], "n": None}),
    ("count(${rows}) = 2 and boolean(${x})", {"rows": [{"k": 1}, {"k": 2}], "x": "0"}),
    ("contains(${t}, 'ab') and starts-with(${t}, 'x') and ends-with(${t}, 'z')", {"t": "xabz"}),
    ("true() = 1 and false() != 'x'", {}),
]


def same(py, js) -> bool:
    if isinstance(py, float) and math.isnan(py):
        return isinstance(js, float) and math.isnan(js)
    if isinstance(py, bool) or isinstance(js, bool):
        return py is js or py == js
    if isinstance(py, int | float) and isinstance(js, int | float):
        return math.isclose(py, js) or (math.isinf(py) and py == js)
    return py == js


def test_browser_evaluator_agrees_with_the_server(live_app, browser):
    context = phone_context(browser, "vi")
    page = context.new_page()
    page.goto(f"{live_app.config['BASE_URL']}/s/digital-skills")
    page.get_by_role("button", name="Bắt đầu").click()
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

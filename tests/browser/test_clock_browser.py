"""The clock test vector (tests/fixtures/expressions/clock_vectors.json) through expr.js in Chromium."""

from __future__ import annotations

from tests.surveys.test_clock import EXPR_JS, JS_RUNNER, _js_cases, disagreements


def test_expr_js_in_chromium_gives_the_same_values(browser):
    page = browser.new_page()
    try:
        page.set_content("<!doctype html><html><head></head><body></body></html>")
        page.add_script_tag(content=EXPR_JS)
        results = page.evaluate(JS_RUNNER, _js_cases())
    finally:
        page.close()
    assert not disagreements(results)

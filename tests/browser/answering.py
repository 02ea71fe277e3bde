"""Answering whatever questions a page shows, the way a person would: click, pick, type."""

from __future__ import annotations

import surveys
from surveys.questions import kind

HOAN_KIEM = "70"


def _visible(page, selector: str) -> bool:
    """One round trip to the browser: ``is_visible`` answers False at once where nothing matches."""
    return page.locator(selector).first.is_visible()


def answer_question(page, q: surveys.Question) -> None:
    if q.type == "grid":
        for item in q.items:
            if _visible(page, f"input[name={item.name}]"):
                page.check(f"input[name={item.name}][value='{q.choices[0].code}']")
        return
    if not _visible(page, f"[name={q.name}]"):
        return
    if q.type == "area":
        page.select_option(f"select[name={q.name}]", HOAN_KIEM)
    elif q.type == "consent":
        page.check(f"input[name={q.name}]")
    elif q.type in ("single", "yesno", "likert", "multiple", "knowledge"):
        page.check(f"input[name={q.name}][value='{q.choices[0].code}']")
    elif q.type in ("integer", "decimal"):
        value = "1958" if q.name == "birth_year" else str(int(q.minimum or 1))
        page.fill(f"input[name={q.name}]", value)
    elif q.type == "text":
        page.fill(f"[name={q.name}]", "Cần thêm lớp học về dịch vụ công trực tuyến")
    elif q.type == "geopoint":
        page.fill(f"input[name={q.name}]", "21.0285 105.8542 0 12")
        page.check(f"input[name='{q.name}.consent']")
    else:  # date, time, dateTime, phone, email: the type's own example
        page.fill(f"input[name={q.name}]", str(kind(q.type).example))


def answer_page(page, questions) -> None:
    for q in questions:
        answer_question(page, q)

"""Drafts of self-completed responses: kept in the database, found by a short resume code."""

from __future__ import annotations

import secrets
from typing import Any

from flask import session as cookie
from sqlmodel import Session, select

from surveys import Instrument, Page, expressions
from web.models import Draft, SurveyVersion
from web.models.base import utcnow

#: no 0/O, 1/I/L: easy to read aloud and type on a phone
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_resume_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(8))


def create(session: Session, version: SurveyVersion, language: str, ward_code: int | None) -> Draft:
    draft = Draft(resume_code=new_resume_code(), survey_version_id=version.id, language=language,
                  ward_code=ward_code, answers={"ward": ward_code} if ward_code else {})
    session.add(draft)
    session.commit()
    remember(draft, slug_key(version))
    return draft


def slug_key(version: SurveyVersion) -> str:
    return f"draft-{version.survey_id}"


def remember(draft: Draft, key: str) -> None:
    cookie[key] = draft.resume_code


def current(session: Session, version_survey_id: int) -> Draft | None:
    code = cookie.get(f"draft-{version_survey_id}")
    if not code:
        return None
    return find(session, code)


def find(session: Session, code: str) -> Draft | None:
    code = code.strip().upper().replace(" ", "").replace("-", "")
    if not code or len(code) > 16:
        return None
    return session.exec(select(Draft).where(Draft.resume_code == code)).first()


def names_on(page: Page) -> set[str]:
    return {q.name for q in page.questions} | {item.name for q in page.questions for item in q.items}


def save(session: Session, draft: Draft, page: Page, values: dict[str, Any], page_index: int,
         typed: dict[str, Any] | None = None) -> None:
    """Replace the page's answers in the draft with ``values`` and move to ``page_index``.

    ``typed`` holds the page's answers that failed the check, as they were typed: kept apart from
    the answers, shown again on the page and checked again on Next, never part of a response.
    """
    names = names_on(page)
    answers = {k: v for k, v in draft.answers.items() if k not in names}
    answers.update(values)
    draft.answers = answers
    kept = {k: v for k, v in (draft.typed or {}).items() if k not in names}
    kept.update(typed or {})
    draft.typed = kept
    draft.page_index = page_index
    draft.updated_at = utcnow()
    session.add(draft)
    session.commit()


def on_screen(draft: Draft, page: Page) -> dict[str, Any]:
    """The page's answers as the person last left them: accepted ones, then those still to correct."""
    typed = {k: v for k, v in (draft.typed or {}).items() if k in names_on(page)}
    return {**draft.answers, **typed}


def is_shown(instrument: Instrument, index: int, answers: dict[str, Any]) -> bool:
    page = instrument.pages[index]
    if page.relevant and not expressions.evaluate_bool(page.relevant, answers):
        return False
    return any(q.type != "calculate" for q in page.questions)


def _may_show(instrument: Instrument, index: int, answers: dict[str, Any]) -> bool:
    """False only when earlier answers already rule the page out: its rule reads nothing unanswered."""
    page = instrument.pages[index]
    if not any(q.type != "calculate" for q in page.questions):
        return False
    if not page.relevant:
        return True
    try:
        refs = expressions.references(page.relevant)
    except expressions.ExpressionError:
        return True
    if any(answers.get(r) in (None, "", []) for r in refs):
        return True
    return is_shown(instrument, index, answers)


def progress(instrument: Instrument, index: int, answers: dict[str, Any]) -> tuple[int, int]:
    """``(position, total)`` of page ``index``: the pages shown so far, and those that still may be.

    Walking forward, the position grows by one a page and the total can only shrink (a page leaves
    the count once earlier answers rule it out), so the bar never moves backwards.
    """
    before = sum(1 for i in range(index) if is_shown(instrument, i, answers))
    after = sum(1 for i in range(index + 1, len(instrument.pages)) if _may_show(instrument, i, answers))
    return before + 1, before + 1 + after


def next_page(instrument: Instrument, index: int, answers: dict[str, Any], step: int = 1) -> int | None:
    """The next (or previous, with ``step=-1``) page to show, or None past either end."""
    index += step
    while 0 <= index < len(instrument.pages):
        if is_shown(instrument, index, answers):
            return index
        index += step
    return None

"""Helpers for walking a survey through the Flask test client."""

from __future__ import annotations

import random
import re

from sqlmodel import select

import surveys
from surveys.questions import kind
from web import db
from web.catalog import current_version, instrument_of
from web.models import Response, SurveyVersion
from web.submissions import build

HOAN_KIEM = 70  # Phường Hoàn Kiếm, Hà Nội


def instrument(app, slug: str = "digital-skills") -> surveys.Instrument:
    with app.app_context():
        return instrument_of(current_version(db.session(), slug))


def a_valid_answer(q: surveys.Question):
    """A plausible valid answer for any question, for walking through a survey."""
    if q.type == "area":
        return str(HOAN_KIEM)
    if q.type == "consent":
        return "1"
    if q.type == "multiple":
        return [q.choices[0].code]
    if q.choices:
        return q.choices[-1].code if q.type == "yesno" else q.choices[0].code
    if q.type in ("integer", "decimal"):
        if q.name == "birth_year":
            return "1958"
        return str(int(q.minimum if q.minimum is not None else 1))
    return kind(q.type).example


def answer_fields(q: surveys.Question) -> dict:
    """Form fields answering ``q``: one per grid item, else one under the question's name."""
    if q.type == "grid":
        return {item.name: q.choices[0].code for item in q.items}
    value = a_valid_answer(q)
    return {} if value is None else {q.name: value}


def page_index(location: str) -> int | None:
    match = re.search(r"/p/(\d+)", location)
    return int(match.group(1)) if match else None


def complete(client, app, slug: str = "digital-skills", lang: str = "vi", overrides=None):
    """Answer every page of ``slug``; return the final response (the 'done' page)."""
    inst = instrument(app, slug)
    overrides = overrides or {}
    response = client.post(f"/s/{slug}?lang={lang}")
    assert response.status_code == 302, response.data[:500]
    location = response.headers["Location"]
    for _ in range(len(inst.pages) + 1):
        index = page_index(location)
        if index is None:
            break
        page = inst.pages[index]
        data = {}
        for q in page.questions:
            for name, value in answer_fields(q).items():
                data[name] = overrides.get(name, value)
            if q.name in overrides and q.type != "grid":
                data[q.name] = overrides[q.name]
        response = client.post(location, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        location = response.headers["Location"]
    assert location.endswith(f"/s/{slug}/done")
    return client.get(location)


def add_self_selected(app, slug: str = "digital-skills", seed: int = 18) -> int:
    """Copies of the survey's responses as a self-selected stream (no PSU, base weight 1), the skilled far more
    likely to answer a QR poster than the rest (9 in 10 against 2 in 10); returns how many were added."""
    rng = random.Random(seed)
    with app.app_context():
        session = db.session()
        version = current_version(session, slug)
        form = instrument_of(version)
        rows = session.exec(select(Response).join(SurveyVersion, SurveyVersion.id == Response.survey_version_id)
                            .where(SurveyVersion.survey_id == version.survey_id).order_by(Response.id)).all()
        copies = [build(version, form, f"qr-{r.uuid}", dict(r.answers), channel="self", language=r.language)
                  for r in rows if rng.random() < (0.9 if r.scores.get("at_least_basic") == 1 else 0.2)]
        session.add_all(copies)
        session.commit()
        return len(copies)

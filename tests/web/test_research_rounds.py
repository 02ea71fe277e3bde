"""Rounds: responses fall into rounds by their dates; results by round; the change page with its SE."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from sqlmodel import select

from analysis.rounds import round_change
from tests.web.test_api import submission
from web import db
from web.models import AuditEvent, Response, Survey, SurveyRound
from web.research.weighting import weighted


def _two_rounds(app) -> None:
    """Half the demo's responses (by id) moved to March 2026: round 1; the rest stay in November: round 2."""
    with app.app_context():
        session = db.session()
        survey = session.exec(select(Survey).where(Survey.slug == "digital-skills")).one()
        for seeded in session.exec(select(SurveyRound)).all():  # the demo's own rounds
            session.delete(seeded)
        for r in session.exec(select(Response)).all():
            if r.id % 2:
                r.submitted_at = dt.datetime(2026, 3, 10, 3, tzinfo=dt.UTC)
                session.add(r)
        session.add(SurveyRound(survey_id=survey.id, number=1, label="2026 Q1", starts_on=dt.date(2026, 3, 1),
                                ends_on=dt.date(2026, 3, 31)))
        session.add(SurveyRound(survey_id=survey.id, number=2, label="now", starts_on=dt.date(2026, 4, 1),
                                ends_on=dt.date(2100, 1, 1)))
        session.commit()


@pytest.mark.slow
@pytest.mark.both_backends
def test_change_between_rounds_with_its_standard_error(app, client, accounts, load_demo):
    load_demo(8)
    _two_rounds(app)
    accounts.login("researcher")
    page = client.get("/research/digital-skills/rounds?lang=en&indicator=at_least_basic&first=1&second=2")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "Change between two rounds" in text and "Standard error" in text
    with app.app_context():
        data = weighted(db.session(), "digital-skills", 1)
        expected = round_change(data.design, "at_least_basic", "round", "1", "2").iloc[0]
    change = f"{expected['change'] * 100:,.1f}"
    assert change in text
    # the table counts what each round received, the estimates the weighted official responses: both said
    assert "Responses received" in text and "so the n below may be smaller" in text
    assert f"{int(expected['n_first'])} / {int(expected['n_second'])}" in text
    by_round = client.get("/research/digital-skills?lang=en&indicator=at_least_basic&by=round")
    assert by_round.status_code == 200 and "Round 1" in html.unescape(by_round.get_data(as_text=True))
    vietnamese = html.unescape(client.get("/research/digital-skills/rounds?lang=vi&indicator=at_least_basic"
                                          "&first=1&second=2&by=sex").get_data(as_text=True))
    assert "Sai số chuẩn" in vietnamese


def _rounds(app) -> dict[int, SurveyRound]:
    with app.app_context():
        return {r.number: r for r in db.session().exec(select(SurveyRound)).all()}


def _events(app, action: str) -> list:
    with app.app_context():
        return [e.detail for e in db.session().exec(select(AuditEvent).where(AuditEvent.action == action)).all()]


@pytest.mark.both_backends
def test_rounds_are_edited_and_an_empty_one_deleted_but_one_with_responses_is_kept(app, client, accounts):
    today = dt.datetime.now(dt.UTC).date()
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    assert app.test_client().post("/api/v1/submissions", json=submission(app), headers=headers).status_code == 201
    accounts.login("admin")
    url = "/research/digital-skills/rounds?lang=en"
    first = {"number": "1", "label": "now", "starts_on": (today - dt.timedelta(days=5)).isoformat(),
             "ends_on": (today + dt.timedelta(days=5)).isoformat()}
    later = {"number": "2", "label": "next year", "starts_on": (today + dt.timedelta(days=400)).isoformat(),
             "ends_on": (today + dt.timedelta(days=430)).isoformat()}
    assert client.post(url, data=first).status_code == 302 and client.post(url, data=later).status_code == 302
    overlap = client.post(url, data={**later, "number": "3", "starts_on": today.isoformat()})
    assert overlap.status_code == 200 and "These dates overlap round 1" in html.unescape(overlap.get_data(as_text=True))
    assert set(_rounds(app)) == {1, 2}
    one, two = _rounds(app)[1], _rounds(app)[2]
    page = html.unescape(client.get(url).get_data(as_text=True))
    assert "Edit round 2" in page and "Delete round 2" in page and "Delete round 1" not in page
    # editing: the label and dates change, the number stays; the audit log keeps before and after
    edit = f"/research/digital-skills/rounds/{two.id}/edit?lang=en"
    assert client.get(edit).status_code == 200
    bad = client.post(edit, data={"label": "x", "starts_on": later["ends_on"], "ends_on": later["starts_on"]})
    assert "The last day must not be before the first day." in html.unescape(bad.get_data(as_text=True))
    saved = client.post(edit, data={"label": "2027 Q1", "starts_on": later["starts_on"], "ends_on": later["ends_on"]},
                        follow_redirects=True)
    assert "Round 2 saved; it now holds 0 responses." in html.unescape(saved.get_data(as_text=True))
    assert _rounds(app)[2].label == "2027 Q1"
    assert _events(app, "round_edited") == [{"number": 2, "before": {"label": "next year", "starts_on": later["starts_on"],
                                                                     "ends_on": later["ends_on"]},
                                             "after": {"label": "2027 Q1", "starts_on": later["starts_on"],
                                                       "ends_on": later["ends_on"]}}]
    # deleting: a round holding a response is kept, with the reason; an empty one goes
    kept = html.unescape(client.post(f"/research/digital-skills/rounds/{one.id}/delete?lang=en",
                                     follow_redirects=True).get_data(as_text=True))
    assert "Round 1 was not deleted: 1 response submitted between" in kept and "Change its dates instead." in kept
    assert set(_rounds(app)) == {1, 2} and _events(app, "round_deleted") == []
    vietnamese = html.unescape(client.post(f"/research/digital-skills/rounds/{one.id}/delete?lang=vi",
                                           follow_redirects=True).get_data(as_text=True))
    assert "Đợt 1 không bị xoá" in vietnamese
    assert client.post(f"/research/digital-skills/rounds/{two.id}/delete?lang=en").status_code == 302
    assert set(_rounds(app)) == {1} and _events(app, "round_deleted")[0]["number"] == 2
    assert client.post("/research/digital-skills/rounds/999999/delete").status_code == 404
    assert client.get(f"/research/service-satisfaction/rounds/{one.id}/edit").status_code == 404


def test_a_researcher_sees_rounds_but_cannot_change_them(app, client, accounts):
    with app.app_context():
        session = db.session()
        survey = session.exec(select(Survey).where(Survey.slug == "digital-skills")).one()
        session.add(SurveyRound(survey_id=survey.id, number=1, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 2, 1)))
        session.commit()
    round_id = _rounds(app)[1].id
    accounts.login("researcher")
    assert "Edit round 1" not in client.get("/research/digital-skills/rounds?lang=en").get_data(as_text=True)
    assert client.post(f"/research/digital-skills/rounds/{round_id}/delete").status_code == 403
    assert client.post(f"/research/digital-skills/rounds/{round_id}/edit", data={
        "label": "x", "starts_on": "2026-01-01", "ends_on": "2026-01-02"}).status_code == 403
    assert set(_rounds(app)) == {1} and _rounds(app)[1].label == ""

"""The fieldwork dashboard and the quality review: supervisors see their wards, flag, exclude."""

from __future__ import annotations

import datetime as dt
import io
import itertools

import pandas as pd
import pytest
from sqlmodel import select

from tests.web.helpers import HOAN_KIEM, instrument
from tests.web.test_api import submission
from web import db
from web.models import AuditEvent, Response, SurveyVersion, User, WardAssignment, WardQuota
from web.quality import ARRIVAL_WINDOW, duration_seconds
from web.research.weighting import weighted
from web.review import flags_of
from web.tables import responses_frame

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL

BA_DINH = 4
_ids = itertools.count(1)


def submit(client, app, token, ward=HOAN_KIEM, minutes=20, birth_year=1958, vary=True):
    """One interview through the API, begun ``minutes`` ago; ``vary`` breaks the straight line."""
    body = submission(app, uuid=f"fieldwork-{next(_ids):05d}")
    body["answers"]["ward"] = ward
    body["answers"]["birth_year"] = birth_year
    if vary:
        body["answers"]["act_search_info"] = "0" if body["answers"]["act_search_info"] != "0" else "1"
    else:  # an internet user who says "yes" to every one of the activities
        body["answers"].update({q.name: "1" for q in instrument(app).questions if q.type == "yesno"})
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)
    body["meta"]["started_at"] = started.isoformat()
    response = client.post("/api/v1/submissions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def field(app, accounts):
    """A supervisor of Hoàn Kiếm, a volunteer's interviews there and in Ba Đình, and a quota."""
    token = accounts.token("volunteer")
    client = app.test_client()
    ids = {
        "ok": submit(client, app, token, birth_year=1960),
        "fast": submit(client, app, token, minutes=0.5, birth_year=1970),
        "straight": submit(client, app, token, birth_year=1980, vary=False),
        "twin_a": submit(client, app, token, birth_year=1990),
        "twin_b": submit(client, app, token, birth_year=1990),
        "elsewhere": submit(client, app, token, ward=BA_DINH, minutes=0.5, birth_year=1965),
    }
    accounts.create("supervisor", "sup")
    with app.app_context():
        session = db.session()
        sup = session.exec(select(User).where(User.username == "sup")).one()
        session.add(WardAssignment(user_id=sup.id, ward_code=HOAN_KIEM))
        survey_id = session.get(Response, ids["ok"]).survey_version_id
        session.add(WardQuota(survey_id=session.get(SurveyVersion, survey_id).survey_id, ward_code=HOAN_KIEM,
                              target=10))
        session.commit()
    supervisor = app.test_client()
    supervisor.post("/accounts/login", data={"username": "sup", "password": "correct-horse-9"})
    return ids, supervisor


def test_supervisor_sees_progress_of_their_wards_only(field):
    _ids, supervisor = field
    page = supervisor.get("/admin/fieldwork?lang=en").get_data(as_text=True)
    assert "Phường Hoàn Kiếm" in page and "Phường Ba Đình" not in page
    assert "50%" in page  # 5 of a quota of 10
    assert "volunteer-api" in page
    assert supervisor.get("/admin/users").status_code == 403


def test_admin_sees_every_ward(field, accounts, client):
    accounts.login("admin")
    page = client.get("/admin/fieldwork?lang=en").get_data(as_text=True)
    assert "Phường Hoàn Kiếm" in page and "Phường Ba Đình" in page


def test_quality_flags(field):
    ids, supervisor = field
    page = supervisor.get("/admin/quality?lang=en").get_data(as_text=True)
    rows = {int(row.split("</td>")[0]): row for row in page.split("<tr><td>")[1:] if row[0].isdigit()}
    assert "Too fast" in rows[ids["fast"]]
    assert "Same answer to every item" in rows[ids["straight"]]
    assert "Identical to another response" in rows[ids["twin_a"]] and "Identical" in rows[ids["twin_b"]]
    assert ids["ok"] not in rows and ids["elsewhere"] not in rows  # fine, or not in the supervisor's wards


def test_excluded_responses_leave_the_analysis_table(app, field):
    ids, supervisor = field
    response = supervisor.post(f"/admin/quality/{ids['fast']}", data={"decision": "exclude", "flag": "too_fast"})
    assert response.status_code == 302
    with app.app_context():
        frame = responses_frame(db.session(), "digital-skills")
        assert ids["fast"] not in set(frame["response_id"]) and ids["ok"] in set(frame["response_id"])
        event = db.session().exec(select(AuditEvent).where(AuditEvent.action == "response_excluded")).one()
        assert event.actor_name == "sup" and event.target == f"response {ids['fast']}"
    assert "1 response excluded after review." in supervisor.get("/admin/fieldwork?lang=en").get_data(as_text=True)
    supervisor.post(f"/admin/quality/{ids['fast']}", data={"decision": "include"})
    with app.app_context():
        assert ids["fast"] in set(responses_frame(db.session(), "digital-skills")["response_id"])


def test_an_exclusion_reaches_the_weighted_results_and_the_downloads_at_once(app, field, accounts, client):
    ids, supervisor = field
    accounts.login("researcher")

    def exported() -> int:  # the scientific-use file's rows (its ids are release numbers, not database ids)
        data = client.get("/research/digital-skills/export.csv").data
        return len(pd.read_csv(io.BytesIO(data), encoding="utf-8-sig"))

    def analysed() -> set[int]:
        with app.test_request_context():
            return set(weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame["response_id"])

    before = exported()
    assert ids["fast"] in analysed() and before == len(analysed())  # the weights are now cached
    supervisor.post(f"/admin/quality/{ids['fast']}", data={"decision": "exclude", "flag": "too_fast"})
    assert ids["fast"] not in analysed() and exported() == before - 1
    supervisor.post(f"/admin/quality/{ids['fast']}", data={"decision": "include"})
    supervisor.post(f"/admin/quality/{ids['twin_b']}", data={"decision": "exclude", "flag": "identical"})
    assert ids["fast"] in analysed() and ids["twin_b"] not in analysed()  # same count excluded, another one


def test_supervisor_cannot_review_other_wards_or_send_nonsense(app, field):
    ids, supervisor = field
    assert supervisor.post(f"/admin/quality/{ids['elsewhere']}", data={"decision": "exclude"}).status_code == 403
    assert supervisor.post(f"/admin/quality/{ids['ok']}", data={"decision": "delete"}).status_code == 400
    with app.app_context():
        assert not any(r.is_excluded for r in db.session().exec(select(Response)).all())


def test_an_interview_queued_offline_is_judged_by_the_duration_the_phone_counted():
    started = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    sent_days_later = dict(started_at=started, submitted_at=started + dt.timedelta(days=3))
    assert duration_seconds(Response(**sent_days_later, meta={"duration_s": 45})) == 45.0
    assert duration_seconds(Response(**sent_days_later, meta={})) == 3 * 86400.0
    assert duration_seconds(Response(**sent_days_later, meta={"duration_s": "45"})) == 3 * 86400.0


def test_a_twin_sent_long_after_with_another_uuid_is_flagged_a_retry_stored_once(app, accounts):
    """A duplicate is found by its content among all the volunteer's interviews (an index, not the last 50
    re-read), and flags both; the same uuid sent again is stored once and flags nothing."""
    token = accounts.token("volunteer")
    client = app.test_client()
    first = submit(client, app, token, birth_year=1990)
    others = [submit(client, app, token, birth_year=1935 + i % 70, minutes=20 + 40 * (i + 1))
              for i in range(ARRIVAL_WINDOW + 1)]
    twin = submit(client, app, token, birth_year=1990)
    body = submission(app, uuid="fieldwork-retried")
    sent = [client.post("/api/v1/submissions", json=body, headers={"Authorization": f"Bearer {token}"})
            for _ in range(2)]
    assert [r.status_code for r in sent] == [201, 200]
    with app.app_context():
        session = db.session()
        assert "duplicate" in flags_of(session, first) and "duplicate" in flags_of(session, twin)
        assert "duplicate" not in flags_of(session, others[-1])
        assert len(session.exec(select(Response.id).where(Response.uuid == "fieldwork-retried")).all()) == 1

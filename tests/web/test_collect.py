"""Interview mode on the server: the shell, the service worker, the queue's token, progress, posters."""

import datetime as dt

import pytest
from sqlmodel import select

from tests.web.helpers import HOAN_KIEM
from tests.web.test_api import count, submission
from web import db, lifecycle
from web.catalog import find_version
from web.models import ApiToken, Draft, Response, Survey, SurveyVersion
from web.models.base import utcnow
from web.models.surveys import VersionState

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL


def test_shell_needs_a_volunteer_login(client, accounts):
    assert client.get("/collect/").status_code == 302
    accounts.login("researcher")
    assert client.get("/collect/").status_code == 403


def test_shell_lists_surveys_and_wards_for_a_volunteer(client, accounts):
    accounts.login("volunteer")
    page = client.get("/collect/?lang=en").get_data(as_text=True)
    assert 'data-slug="digital-skills"' in page
    assert f'<option value="{HOAN_KIEM}">' in page
    assert "waiting to send" in page  # the queue's text, handed to the script


def test_service_worker_is_served_with_its_scope_and_version(client):
    response = client.get("/collect/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    body = response.get_data(as_text=True)
    assert "__VERSION__" not in body and "ks-collect-" in body


def test_token_needs_the_custom_header_and_revokes_the_previous_one(client, app, accounts):
    accounts.login("volunteer")
    assert client.post("/collect/token").status_code == 400  # a cross-site form cannot add the header
    first = client.post("/collect/token", headers={"X-KhaoSat-Collect": "1"}).get_json()["token"]
    second = client.post("/collect/token", headers={"X-KhaoSat-Collect": "1"}).get_json()["token"]
    assert first != second
    phone = app.test_client()  # the queue sends with the token alone, no session cookie
    assert phone.post("/api/v1/submissions", json=submission(app),
                      headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert phone.post("/api/v1/submissions", json=submission(app),
                      headers={"Authorization": f"Bearer {second}"}).status_code == 201
    with app.app_context():
        tokens = db.session().exec(select(ApiToken)).all()
    assert all(len(t.token_hash) == 64 and t.token_hash not in (first, second) for t in tokens)


def test_progress_counts_todays_interviews_per_ward(client, app, accounts):
    accounts.login("volunteer")
    tok = client.post("/collect/token", headers={"X-KhaoSat-Collect": "1"}).get_json()["token"]
    for uuid in ("a1b2c3d4-0001", "a1b2c3d4-0002"):
        assert client.post("/api/v1/submissions", json=submission(app, uuid=uuid),
                           headers={"Authorization": f"Bearer {tok}"}).status_code == 201
    today = client.get("/collect/progress").get_json()["today"]
    assert today == [{"ward": HOAN_KIEM, "name": today[0]["name"], "count": 2}]
    assert "Hoàn Kiếm" in today[0]["name"]


def test_paradata_is_kept_in_meta(client, app, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    meta = {"language": "en", "started_at": "2026-11-20T08:15:00+07:00", "ended_at": "2026-11-20T08:31:00+07:00",
            "duration_s": 960, "channel": "interview", "volunteer": "volunteer-api", "app_version": "abc123"}
    assert client.post("/api/v1/submissions", json=submission(app, meta=meta), headers=headers).status_code == 201
    with app.app_context():
        stored = db.session().exec(select(Response)).one()
    assert stored.meta["duration_s"] == 960 and stored.meta["app_version"] == "abc123"
    assert stored.language == "en" and stored.channel == "interview" and stored.volunteer_id is not None


def test_a_version_closed_while_offline_still_takes_the_interviews_begun_before(client, app, accounts):
    """Decision: an interview a phone queued before the version closed is accepted (never lost); one
    begun after it closed gets a coded 410 in both languages, and the phone keeps it."""
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    body = submission(app)
    with app.app_context():
        session = db.session()
        version = session.exec(select(SurveyVersion).where(SurveyVersion.version == body["version"])).first()
        lifecycle.change(session, version, session.get(Survey, version.survey_id), VersionState.closed)
        session.commit()
        version_id = version.id
    gone = client.get("/api/v1/surveys/digital-skills")
    assert gone.status_code == 410 and gone.get_json()["code"] == "survey_closed"
    accounts.login("volunteer")
    assert "digital-skills" not in [s["slug"] for s in client.get("/collect/surveys").get_json()["surveys"]]
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 200, "a retry"
    later = (utcnow() + dt.timedelta(minutes=5)).isoformat()
    late = {**body, "uuid": "0c8f3b1e-2222-4a55-9d1e-1a2b3c4d5e6f", "meta": {"language": "vi", "started_at": later}}
    refused = client.post("/api/v1/submissions", json=late, headers=headers)
    assert refused.status_code == 410 and refused.get_json()["code"] == "survey_closed"
    assert set(refused.get_json()["errors"]["survey"]) == {"vi", "en"}
    with app.app_context():
        assert db.session().exec(select(Response)).one().survey_version_id == version_id
    assert count(app) == 1


def test_poster_is_for_supervisors_and_holds_a_qr_code_for_the_ward(client, accounts):
    assert client.get("/collect/poster/digital-skills").status_code == 302
    accounts.login("supervisor")
    page = client.get(f"/collect/poster/digital-skills?ward={HOAN_KIEM}").get_data(as_text=True)
    assert "<svg" in page and "<script" not in page
    assert f"/s/digital-skills?ward={HOAN_KIEM}" in page
    assert client.get("/collect/poster/nothing").status_code == 404


def test_a_resident_link_with_a_ward_prefills_it(client, app):
    client.post(f"/s/digital-skills?ward={HOAN_KIEM}")
    with app.app_context():
        assert db.session().exec(select(Draft)).one().answers["ward"] == HOAN_KIEM


def test_the_cached_version_is_not_written_by_the_requests_that_find_it(app, client, accounts):
    """Each submission reads its version's state now into a copy: the version kept in the app's cache, which
    requests in other threads share, keeps what it was stored with."""
    with app.test_request_context():
        session = db.session()
        first = find_version(session, "digital-skills", 1)
        first.status = VersionState.archived  # what a request could do to its copy
        again = find_version(session, "digital-skills", 1)
        assert again is not first and again.status == VersionState.open and again.definition == first.definition

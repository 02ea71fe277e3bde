"""The interview's GPS position: kept only with consent, apart from the answers, seen only by admins,
never exported, purged with the contact details; and the paradata kept with every response."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest
from sqlmodel import func, select

from tests.web.helpers import complete
from tests.web.test_api import submission
from tests.web.test_hardening import row_counts
from web import db
from web.models import PersonalDetails, Response
from web.tables import responses_frame

LAT, LON, ACCURACY = 21.028511, 105.854167, 12.5  # Hoàn Kiếm lake
GPS = {"lat": LAT, "lon": LON, "accuracy_m": ACCURACY}
META = {"language": "vi", "started_at": "2026-11-20T08:15:00+07:00", "ended_at": "2026-11-20T08:31:30+07:00",
        "channel": "interview", "volunteer": "volunteer-api", "app_version": "abc123def456"}


@pytest.fixture
def volunteer(accounts):
    return {"Authorization": f"Bearer {accounts.token('volunteer')}"}


def send(client, app, headers, meta, uuid="3c9a1e5f-7b2d-4e8a-9f10-abcdef012345"):
    return client.post("/api/v1/submissions", json=submission(app, uuid=uuid, meta=meta), headers=headers)


def details(app) -> list[PersonalDetails]:
    with app.app_context():
        return db.session().exec(select(PersonalDetails)).all()


def stored(app) -> Response:
    with app.app_context():
        return db.session().exec(select(Response)).one()


def test_gps_with_consent_is_kept_apart_from_the_answers(client, app, volunteer):
    response = send(client, app, volunteer, {**META, "gps_consent": True, "gps": GPS})
    assert response.status_code == 201
    [kept] = details(app)
    assert (kept.latitude, kept.longitude, kept.accuracy_m) == (LAT, LON, ACCURACY)
    assert kept.location_consent is True and kept.response_id == response.get_json()["id"]
    assert kept.full_name is None and kept.phone is None
    row = stored(app)
    text = json.dumps([row.answers, row.meta, row.scores])
    assert str(LAT) not in text and str(LON) not in text and "gps\"" not in text.replace("gps_consent\"", "")
    assert row.meta["gps_consent"] is True
    # a retry is the same submission: 200, still one row of each
    assert send(client, app, volunteer, {**META, "gps_consent": True, "gps": GPS}).status_code == 200
    assert len(details(app)) == 1


@pytest.mark.parametrize("consent", [False, None])
def test_gps_without_consent_is_dropped(client, app, volunteer, consent):
    meta = {**META, "gps": GPS}
    if consent is not None:
        meta["gps_consent"] = consent
    assert send(client, app, volunteer, meta).status_code == 201
    assert details(app) == []
    row = stored(app)
    assert "gps" not in row.meta and row.meta["gps_consent"] is False
    assert str(LAT) not in json.dumps([row.answers, row.meta])


@pytest.mark.parametrize("key", ["latitude", "lon", "gpsLat", "position", "geo", "Location_text", "coords"])
def test_a_position_outside_gps_is_refused_with_or_without_consent(client, app, volunteer, key):
    before = row_counts(app)
    for consent in (True, False):
        response = send(client, app, volunteer, {**META, "gps_consent": consent, key: LAT})
        assert response.status_code == 422
        assert response.get_json()["errors"][f"meta.{key}"]["en"].startswith("A location is accepted only in 'gps'")
    assert row_counts(app) == before


@pytest.mark.parametrize("consent", ["yes", 1, "true"])
def test_consent_must_be_true_or_false(client, app, volunteer, consent):
    response = send(client, app, volunteer, {**META, "gps_consent": consent, "gps": GPS})
    assert response.status_code == 422 and "meta.gps_consent" in response.get_json()["errors"]
    assert details(app) == []


def test_consent_without_a_fix_stores_no_location(client, app, volunteer):
    assert send(client, app, volunteer, {**META, "gps_consent": True}).status_code == 201
    assert details(app) == [] and stored(app).meta["gps_consent"] is True


@pytest.mark.parametrize("gps", [
    {"lat": 91, "lon": LON, "accuracy_m": 5}, {"lat": LAT, "lon": -180.5, "accuracy_m": 5},
    {"lat": "21.02", "lon": LON, "accuracy_m": 5}, {"lat": True, "lon": LON, "accuracy_m": 5},
    {"lat": LAT, "accuracy_m": 5}, {"lat": LAT, "lon": None}, {"lat": LAT, "lon": LON, "accuracy_m": -1},
    {"lat": LAT, "lon": LON, "accuracy_m": 1e9}, {"lat": LAT, "lon": LON, "accuracy_m": "near"},
    [LAT, LON], "21.02,105.85", 7,
])
def test_a_bad_gps_with_consent_is_refused_and_changes_nothing(client, app, volunteer, gps):
    before = row_counts(app)
    response = send(client, app, volunteer, {**META, "gps_consent": True, "gps": gps})
    assert response.status_code == 422
    error = response.get_json()["errors"]["meta.gps"]
    assert "GPS" in error["vi"] and "GPS" in error["en"] and "vị trí" in error["vi"].lower()
    assert row_counts(app) == before


def test_a_non_finite_gps_is_refused(client, app, volunteer):
    body = json.dumps(submission(app, meta={**META, "gps_consent": True, "gps": {"lat": 1, "lon": 1}}))
    body = body.replace('"lat": 1', '"lat": NaN')
    before = row_counts(app)
    response = client.post("/api/v1/submissions", data=body, content_type="application/json", headers=volunteer)
    assert response.status_code in (400, 422) and row_counts(app) == before


@pytest.mark.both_backends
def test_gps_never_reaches_tables_or_researcher_downloads(client, app, accounts, volunteer):
    assert send(client, app, volunteer, {**META, "gps_consent": True, "gps": GPS}).status_code == 201
    # a second response: the weighted export needs more than one sampling unit
    assert send(client, app, volunteer, META, uuid="5d2b8f1a-6c3e-4f7b-8a90-fedcba987654").status_code == 201
    with app.app_context():
        frame = responses_frame(db.session(), "digital-skills")
    assert len(frame) == 2
    assert not {"latitude", "longitude", "accuracy_m", "gps", "lat", "lon"} & set(frame.columns)
    assert str(LAT) not in frame.astype(str).to_csv() and str(LON) not in frame.astype(str).to_csv()
    accounts.login("researcher")
    export = client.get("/research/digital-skills/export.csv?lang=en")
    assert export.status_code == 200
    text = export.data.decode("utf-8-sig")
    assert "21.0285" not in text and "105.854" not in text
    columns = set(pd.read_csv(io.BytesIO(export.data), encoding="utf-8-sig").columns)
    assert not {"latitude", "longitude", "accuracy_m", "gps", "gps_consent"} & columns


def test_only_admins_see_the_location(client, app, accounts, volunteer):
    response_id = send(client, app, volunteer, {**META, "gps_consent": True, "gps": GPS}).get_json()["id"]
    for role in ("researcher", "supervisor", "volunteer"):
        other = app.test_client()
        accounts.create(role)
        other.post("/accounts/login", data={"username": f"{role}-user", "password": "correct-horse-9"})
        assert other.get(f"/admin/responses/{response_id}").status_code == 403
    accounts.login("admin")
    page = client.get(f"/admin/responses/{response_id}?lang=en").get_data(as_text=True)
    assert f"{LAT}, {LON}" in page and "within 12 m" in page
    assert "abc123def456" in page and "990" in page  # app version and duration (16 min 30 s)


@pytest.mark.both_backends
def test_purge_deletes_the_location(client, app, volunteer, runner):
    assert send(client, app, volunteer, {**META, "gps_consent": True, "gps": GPS}).status_code == 201
    end = dt.date.today() - dt.timedelta(days=31)
    result = runner.invoke(args=["purge-contacts", "--fieldwork-end", str(end), "--retention-days", "30"])
    assert result.exit_code == 0 and "deleted: 1" in result.output
    assert details(app) == []
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(Response)).one() == 1  # the answers stay


def test_paradata_of_an_interview_gets_its_duration_from_start_and_end(client, app, volunteer):
    assert send(client, app, volunteer, META).status_code == 201
    meta = stored(app).meta
    assert meta["duration_s"] == 990 and meta["app_version"] == "abc123def456"
    assert meta["volunteer"] == "volunteer-api" and meta["ended_at"] == META["ended_at"]


def test_paradata_of_a_self_completion(client, app):
    complete(client, app, "digital-skills", lang="en")
    row = stored(app)
    assert row.channel == "self" and row.language == "en"
    assert row.meta["app_version"] and row.meta["duration_s"] >= 0
    assert row.meta["started_at"] <= row.meta["ended_at"]

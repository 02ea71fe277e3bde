"""Personal details apart from answers, seen only by admins; erasure by code or by id; retention; suppression."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pandas as pd
import pytest
from sqlmodel import func, select

from tests.web.helpers import complete
from tests.web.test_api import submission
from web import db
from web.models import AuditEvent, Draft, PersonalDetails, Response
from web.privacy import purge_contacts, store_personal, suppress
from web.tables import responses_frame

NAME, PHONE, ADDRESS = "Nguyễn Thị Lan", "0912 345 678", "Số 12 ngõ 45 phố Hàng Bạc"


def interview(app, client, accounts) -> int:
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    response = client.post("/api/v1/submissions", json=submission(app), headers=headers)
    assert response.status_code == 201
    response_id = response.get_json()["id"]
    with app.app_context():
        store_personal(db.session(), response_id, full_name=NAME, phone=PHONE, address=ADDRESS,
                       latitude=21.0341, longitude=105.8516, location_consent=True)
    return response_id


def count(app, model) -> int:
    with app.app_context():
        return db.session().exec(select(func.count()).select_from(model)).one()


def test_personal_details_are_stored_apart_and_never_reach_analysis(app, client, accounts):
    response_id = interview(app, client, accounts)
    with app.app_context():
        stored = db.session().get(Response, response_id)
        assert NAME not in json.dumps(stored.answers, ensure_ascii=False) and NAME not in json.dumps(stored.meta)
        frame = responses_frame(db.session(), "digital-skills")
    flat = frame.astype(str).to_csv()
    assert NAME not in flat and PHONE not in flat and "105.8516" not in flat
    assert not {"full_name", "phone", "address", "latitude", "longitude"} & set(frame.columns)


@pytest.mark.both_backends
def test_location_is_kept_only_with_consent_and_bad_values_are_refused(app, client, accounts):
    response_id = interview(app, client, accounts)
    with app.app_context():
        session = db.session()
        details = store_personal(session, response_id, phone=PHONE, latitude=21.0, longitude=105.8)
        assert details.latitude is None and details.longitude is None and details.phone == PHONE
        for bad in [dict(latitude=91.0, longitude=1.0), dict(latitude=float("nan"), longitude=1.0),
                    dict(latitude=21.0), dict(phone="9" * 41), dict(full_name=12)]:
            with pytest.raises(ValueError):
                store_personal(session, response_id, location_consent=True, **bad)
        with pytest.raises(ValueError):
            store_personal(session, 999_999, phone=PHONE)
    assert count(app, PersonalDetails) == 1


def test_only_admins_see_personal_details(app, client, accounts):
    response_id = interview(app, client, accounts)
    for role in ("researcher", "supervisor", "volunteer"):
        other = app.test_client()
        accounts.create(role)
        other.post("/accounts/login", data={"username": f"{role}-user", "password": "correct-horse-9"})
        assert other.get(f"/admin/responses/{response_id}").status_code == 403
        for page in ("/research/digital-skills", "/research/digital-skills/wards.csv", "/admin/quality",
                     "/admin/fieldwork"):
            assert NAME not in other.get(page).get_data(as_text=True)
    accounts.login("admin")
    page = client.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    assert NAME in page and PHONE in page and ADDRESS in page


def test_admin_erases_a_response_by_id_and_the_log_keeps_no_content(app, client, accounts):
    response_id = interview(app, client, accounts)
    accounts.login("admin")
    assert client.post(f"/admin/responses/{response_id}/erase").status_code == 422  # not confirmed
    assert count(app, Response) == 1
    assert client.post(f"/admin/responses/{response_id}/erase", data={"confirm": "yes"}).status_code == 302
    assert count(app, Response) == 0 and count(app, PersonalDetails) == 0
    with app.app_context():
        event = db.session().exec(select(AuditEvent).where(AuditEvent.action == "response_erased")).one()
        logged = json.dumps([event.target, event.detail], ensure_ascii=False)
    assert event.actor_name == "admin-user" and event.detail["by"] == "admin"
    assert NAME not in logged and "1958" not in logged and PHONE not in logged
    assert client.post(f"/admin/responses/{response_id}/erase", data={"confirm": "yes"}).status_code == 404


@pytest.mark.both_backends
def test_respondent_erases_a_finished_response_with_the_code_on_the_done_page(app, client):
    done = complete(client, app, lang="en").get_data(as_text=True)
    code = re.search(r'<strong class="code">([A-Z0-9]+)</strong>', done).group(1)
    assert len(code) == 10 and 'href="/erase"' in done
    assert count(app, Response) == 1
    other = app.test_client()  # another phone, another day
    wrong = other.post("/erase?lang=en", data={"code": "ZZZZZZZZZZ", "confirm": "yes"})
    assert wrong.status_code == 404 and "This code was not found." in wrong.get_data(as_text=True)
    unconfirmed = other.post("/erase?lang=en", data={"code": code})
    assert unconfirmed.status_code == 422 and count(app, Response) == 1
    erased = other.post("/erase?lang=vi", data={"code": code.lower()[:5] + "-" + code[5:], "confirm": "yes"})
    assert erased.status_code == 200 and "Câu trả lời của bạn đã được xoá" in erased.get_data(as_text=True)
    assert count(app, Response) == 0
    with app.app_context():
        event = db.session().exec(select(AuditEvent).where(AuditEvent.action == "response_erased")).one()
        assert event.detail["by"] == "respondent" and event.actor_id is None and code not in json.dumps(event.detail)


def test_respondent_erases_an_unfinished_survey_with_the_resume_code(app, client):
    client.post("/s/digital-skills")
    with app.app_context():
        code = db.session().exec(select(Draft)).one().resume_code
    assert client.post("/erase", data={"code": code, "confirm": "yes"}).status_code == 200
    assert count(app, Draft) == 0
    assert "draft_erased" in [e.action for e in _events(app)]


def _events(app):
    with app.app_context():
        return db.session().exec(select(AuditEvent)).all()


def test_purge_contacts_after_fieldwork_ends(app, client, accounts, runner):
    interview(app, client, accounts)
    today = dt.date.today()
    soon = runner.invoke(args=["purge-contacts", "--fieldwork-end", str(today), "--retention-days", "30"])
    assert soon.exit_code == 0 and "deleted: 0" in soon.output
    assert count(app, PersonalDetails) == 1
    later = runner.invoke(args=["purge-contacts", "--fieldwork-end", str(today - dt.timedelta(days=31)),
                                "--retention-days", "30"])
    assert later.exit_code == 0 and "deleted: 1" in later.output
    assert count(app, PersonalDetails) == 0 and count(app, Response) == 1  # the answers stay
    assert runner.invoke(args=["purge-contacts", "--fieldwork-end", "soon"]).exit_code == 2


@pytest.mark.both_backends
def test_purge_without_an_end_date_goes_by_each_record_age(app, client, accounts):
    interview(app, client, accounts)
    with app.app_context():
        session = db.session()
        assert purge_contacts(session, retention_days=90) == 0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=91)
        assert purge_contacts(session, retention_days=90, now=later) == 1


def test_suppress_hides_small_cells():
    table = pd.DataFrame({"ward_code": [70, 4, 8], "ward": ["Hoàn Kiếm", "Ba Đình", "Ngọc Hà"],
                          "estimate": [61.2, 40.5, 55.0], "se": [2.1, 9.9, 3.0], "n": [40, 3, 10]})
    shown = suppress(table, "n", 10)
    assert shown["suppressed"].tolist() == [False, True, False]
    small = shown.iloc[1]
    assert small["ward"] == "Ba Đình" and small["ward_code"] == 4
    assert pd.isna(small["estimate"]) and pd.isna(small["se"]) and pd.isna(small["n"])
    assert shown.iloc[0]["estimate"] == 61.2 and table.iloc[1]["estimate"] == 40.5  # input untouched
    with pytest.raises(ValueError, match="no column 'count'"):
        suppress(table, "count", 10)


def test_every_table_outside_admin_uses_the_configured_minimum(app, client, accounts, load_demo):
    load_demo(8)
    app.config["MIN_CELL_COUNT"] = 200
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    rows = client.get("/api/v1/results/digital-skills?indicator=dsi_index&by=sex", headers=headers).get_json()["rows"]
    assert rows and all((r["n"] is None) == (r["reliability"] == "suppressed") for r in rows)
    districts = client.get("/api/v1/results/digital-skills?indicator=dsi_index&level=former_district",
                           headers=headers).get_json()["rows"]
    assert all(r["reliability"] == "suppressed" and r["estimate"] is None and r["n"] is None for r in districts)
    accounts.login("researcher")
    page = client.get("/research/digital-skills?indicator=dsi_index&level=ward&lang=en").get_data(as_text=True)
    assert page.count("suppressed (protects small groups)") == 126
    ranking = pd.read_csv(io.BytesIO(client.get(
        "/research/digital-skills/left-behind.csv?indicator=dsi_index").data), encoding="utf-8-sig")
    small = ranking[ranking["reliability"] == "suppressed"]
    assert len(small) and small["n"].isna().all() and small["estimate"].isna().all()
    assert (ranking["n"].dropna() >= 200).all()
    weighting = client.get("/research/digital-skills/weighting?indicator=dsi_index&by=sex&lang=en")
    assert weighting.status_code == 200

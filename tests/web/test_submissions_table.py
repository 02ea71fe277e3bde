"""The submissions table: filters and pages, review statuses reaching results and downloads, corrections
with their history and new scores, a phone's retry after a correction, bulk actions, ward scope."""

from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd
import pytest
from markupsafe import escape
from sqlmodel import select

from tests.web import test_fieldwork
from tests.web.helpers import HOAN_KIEM, instrument
from tests.web.test_api import submission
from tests.web.test_fieldwork import BA_DINH, submit
from web import db
from web.models import AuditEvent, Response, ResponseEdit, ResponseFlag, User, WardAssignment
from web.research.weighting import weighted
from web.tables import responses_frame

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL

field = test_fieldwork.field  #: a supervisor of Hoàn Kiếm and a volunteer's interviews there and in Ba Đình


def ids_on(page: str) -> list[int]:
    """The response ids listed in the table, in order."""
    return [int(i) for i in re.findall(r'href="/admin/submissions/(\d+)"', page)]


def analysed(app) -> set[int]:
    with app.test_request_context():
        return set(weighted(db.session(), "digital-skills", app.config["KHAOSAT_PROVINCE"]).frame["response_id"])


def test_supervisor_table_lists_their_wards_only_and_filters(app, field):
    ids, supervisor = field
    page = supervisor.get("/admin/submissions?lang=en").get_data(as_text=True)
    assert set(ids_on(page)) == {ids[k] for k in ("ok", "fast", "straight", "twin_a", "twin_b")}
    assert ids_on(page) == sorted(ids_on(page), reverse=True)  # newest first
    assert "5 responses match." in page
    fast = supervisor.get("/admin/submissions?lang=en&flag=too_fast").get_data(as_text=True)
    assert ids_on(fast) == [ids["fast"]] and "Too fast" in fast
    assert ids_on(supervisor.get(f"/admin/submissions?q={ids['twin_a']}").get_data(as_text=True)) == [ids["twin_a"]]
    assert ids_on(supervisor.get("/admin/submissions?channel=self").get_data(as_text=True)) == []
    assert ids_on(supervisor.get("/admin/submissions?sort=id").get_data(as_text=True))[0] == ids["ok"]
    assert ids_on(supervisor.get(f"/admin/submissions?ward={BA_DINH}").get_data(as_text=True)) == []
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    assert len(ids_on(supervisor.get(f"/admin/submissions?since={today}&until={today}").get_data(as_text=True))) == 5
    assert ids_on(supervisor.get(f"/admin/submissions?since={today + dt.timedelta(days=1)}")
                  .get_data(as_text=True)) == []
    for bad in ("status=lost", "since=yesterday", "ward=x", "page=0", "q=%3Cscript%3E", "sort=name"):
        response = supervisor.get(f"/admin/submissions?lang=en&{bad}")
        assert response.status_code == 422 and "not offered" in response.get_data(as_text=True)


def test_pages_of_fifty_without_javascript(app, accounts, client):
    token = accounts.token("volunteer")
    volunteer = app.test_client()
    made = [submit(volunteer, app, token, birth_year=1950 + i % 40) for i in range(53)]
    accounts.login("admin")
    first = client.get("/admin/submissions?lang=en").get_data(as_text=True)
    assert len(ids_on(first)) == 50 and "Page 1 of 2." in first
    link = re.search(r'href="([^"]*page=2[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert sorted(ids_on(first) + ids_on(second)) == sorted(made)


def test_a_response_reads_in_the_page_language(app, field):
    ids, supervisor = field
    vi = supervisor.get(f"/admin/submissions/{ids['ok']}?lang=vi").get_data(as_text=True)
    en = supervisor.get(f"/admin/submissions/{ids['ok']}?lang=en").get_data(as_text=True)
    q = next(q for q in instrument(app).questions if q.type == "yesno")
    assert q.label["vi"] in vi and q.label["en"] in en
    assert "Phường Hoàn Kiếm" in en and "Not reviewed" in en and "Chưa duyệt" in vi


def test_review_statuses_reach_results_and_downloads(app, field, accounts, client):
    ids, supervisor = field
    accounts.login("researcher")

    def exported() -> int:
        return len(pd.read_csv(io.BytesIO(client.get("/research/digital-skills/export.csv").data),
                               encoding="utf-8-sig"))

    before = exported()
    assert ids["fast"] in analysed(app)
    for status, counted in (("on_hold", True), ("approved", True), ("rejected", False), ("not_reviewed", True)):
        response = supervisor.post(f"/admin/submissions/{ids['fast']}/review", data={"status": status, "note": "n"})
        assert response.status_code == 302
        assert (ids["fast"] in analysed(app)) is counted
        assert exported() == (before if counted else before - 1)
    with app.app_context():
        events = db.session().exec(select(AuditEvent).where(AuditEvent.action == "response_reviewed")).all()
        assert [e.detail["status"] for e in events] == ["on_hold", "approved", "rejected", "not_reviewed"]
        assert all(e.actor_name == "sup" for e in events)
    assert supervisor.post(f"/admin/submissions/{ids['fast']}/review", data={"status": "gone"}).status_code == 422


def test_a_correction_keeps_history_is_checked_and_scored_again(app, field, accounts):
    ids, supervisor = field
    inst = instrument(app)
    q = next(q for q in inst.questions if q.type == "yesno" and q.name != "act_search_info")
    with app.app_context():
        before = db.session().get(Response, ids["ok"])
        old_value, old_scores = before.answers[q.name], dict(before.scores)
    new_value = "0" if old_value != "0" else "1"
    url = f"/admin/submissions/{ids['ok']}/edit?question={q.name}&lang=en"
    bad = supervisor.post(url, data={"value": "7", "reason": "typo"})
    assert bad.status_code == 422
    assert supervisor.post(url, data={"value": new_value, "reason": ""}).status_code == 422
    response = supervisor.post(url, data={"value": new_value, "reason": "The resident corrected it on the phone"})
    assert response.status_code == 302
    with app.app_context():
        after = db.session().get(Response, ids["ok"])
        assert after.answers[q.name] == new_value and after.revision == 1 and after.scores != old_scores
        edit = db.session().exec(select(ResponseEdit).where(ResponseEdit.response_id == ids["ok"])).one()
        assert (edit.question, edit.old_value, edit.new_value, edit.editor_name) == (q.name, old_value, new_value, "sup")
        frame = responses_frame(db.session(), "digital-skills").set_index("response_id")
        assert frame.loc[ids["ok"], "edited"] == 1 and frame.loc[ids["fast"], "edited"] == 0
        assert db.session().exec(select(AuditEvent).where(AuditEvent.action == "response_edited")).one()
    accounts.login("researcher")
    export = pd.read_csv(io.BytesIO(app.test_client().get("/research/digital-skills/export.csv",
                                                          headers={"Authorization": f"Bearer {accounts.token('researcher')}"}).data),
                         encoding="utf-8-sig")
    assert export["edited"].tolist().count(1) == 1 and set(export["edited"]) == {0, 1}
    page = supervisor.get(f"/admin/submissions/{ids['ok']}?lang=en").get_data(as_text=True)
    assert "The resident corrected it on the phone" in page and "History of corrections" in page
    assert "edited" in supervisor.get("/admin/submissions?lang=en").get_data(as_text=True)


def test_a_phone_retrying_after_a_correction_gets_200_not_a_duplicate(app, accounts):
    token = accounts.token("volunteer")
    phone = app.test_client()
    body = submission(app, uuid="retry-after-edit-0001")
    headers = {"Authorization": f"Bearer {token}"}
    first = phone.post("/api/v1/submissions", json=body, headers=headers)
    assert first.status_code == 201
    accounts.create("admin", "boss")
    staff = app.test_client()
    staff.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    q = next(q for q in instrument(app).questions if q.type == "yesno")
    new = "0" if body["answers"].get(q.name) != "0" else "1"
    rid = first.get_json()["id"]
    assert staff.post(f"/admin/submissions/{rid}/edit?question={q.name}",
                      data={"value": new, "reason": "checked"}).status_code == 302
    again = phone.post("/api/v1/submissions", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == rid
    with app.app_context():
        rows = db.session().exec(select(Response)).all()
        assert len(rows) == 1 and rows[0].answers[q.name] == new


def test_bulk_reject_of_a_filtered_selection_after_confirmation(app, field, accounts, client):
    ids, _supervisor = field
    accounts.login("admin")
    confirm = client.post("/admin/submissions/bulk?lang=en", data={"bulk": "reject", "ward": str(HOAN_KIEM)})
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "5 responses will become: Rejected." in text
    with app.app_context():
        assert not any(r.is_excluded for r in db.session().exec(select(Response)).all())  # nothing yet
    done = client.post("/admin/submissions/bulk", data={"bulk": "reject", "ward": str(HOAN_KIEM), "confirm": "yes"})
    assert done.status_code == 302
    assert analysed(app) == {ids["elsewhere"]}
    with app.app_context():
        event = db.session().exec(select(AuditEvent).where(AuditEvent.action == "response_reviewed")).one()
        assert event.detail["count"] == 5 and event.detail["filters"] == {"ward": HOAN_KIEM}
    client.post("/admin/submissions/bulk", data={"bulk": "approve", "status": "rejected", "confirm": "yes"})
    with app.app_context():
        assert {r.review_status for r in db.session().exec(select(Response))} == {"approved", "not_reviewed"}
    assert client.post("/admin/submissions/bulk", data={"bulk": "delete"}).status_code == 422


def test_bulk_approve_of_ticked_rows_without_javascript(app, field):
    """Rows ticked in the table, by hand or with "select all on this page" (a link that reloads the page
    with every box ticked), are approved after a confirmation; rows the filters or wards leave are not."""
    ids, supervisor = field
    page = supervisor.get("/admin/submissions?lang=en&flag=too_fast").get_data(as_text=True)
    assert 'name="ids"' in page and "checked" not in page and "Select all on this page" in page
    all_ticked = supervisor.get("/admin/submissions?lang=en&tick=all").get_data(as_text=True)
    assert set(re.findall(r'name="ids" value="(\d+)"[^>]*checked', all_ticked)) == {
        str(ids[k]) for k in ("ok", "fast", "straight", "twin_a", "twin_b")}
    ticked = {"bulk": "approve", "selection": "ticked", "ids": [str(ids["ok"]), str(ids["fast"]), str(ids["elsewhere"])]}
    confirm = supervisor.post("/admin/submissions/bulk?lang=en", data=ticked).get_data(as_text=True)
    assert "2 responses will become: Approved." in confirm  # Ba Đình is not the supervisor's
    assert confirm.count('name="ids"') == 3 and 'name="selection" value="ticked"' in confirm
    with app.app_context():
        assert {r.review_status for r in db.session().exec(select(Response))} == {"not_reviewed"}  # nothing yet
    done = supervisor.post("/admin/submissions/bulk", data={**ticked, "confirm": "yes", "note": "checked by phone"})
    assert done.status_code == 302
    with app.app_context():
        approved = {r.id: r.review_note for r in db.session().exec(select(Response)) if r.review_status == "approved"}
        event = db.session().exec(select(AuditEvent).where(AuditEvent.action == "response_reviewed")).one()
    assert approved == {ids["ok"]: "checked by phone", ids["fast"]: "checked by phone"}
    assert event.detail["ticked"] == sorted([ids["ok"], ids["fast"], ids["elsewhere"]]) and event.detail["count"] == 2
    still_filtered = {**ticked, "bulk": "reject", "flag": "too_fast", "confirm": "yes"}  # the filters still apply
    supervisor.post("/admin/submissions/bulk", data=still_filtered)
    with app.app_context():
        assert {r.id for r in db.session().exec(select(Response)) if r.is_excluded} == {ids["fast"]}


@pytest.mark.parametrize("ticks", [[], ["x"], ["1"] * 51])
def test_bulk_action_on_ticked_rows_refuses_none_or_bad_ticks(app, field, ticks):
    ids, supervisor = field
    sent = supervisor.post("/admin/submissions/bulk?lang=en", data={"bulk": "reject", "selection": "ticked",
                                                                    "ids": ticks, "confirm": "yes"})
    assert sent.status_code == 422
    if not ticks:
        assert "Please tick at least one response in the table." in sent.get_data(as_text=True)
    with app.app_context():
        assert not any(r.is_excluded for r in db.session().exec(select(Response)))


def test_the_survey_column_shows_its_title_in_the_page_language(app, field):
    _ids, supervisor = field
    english = supervisor.get("/admin/submissions?lang=en").get_data(as_text=True)
    vietnamese = supervisor.get("/admin/submissions?lang=vi").get_data(as_text=True)
    title = {lang: str(escape(text)) for lang, text in instrument(app).title.items()}
    for page, lang in ((english, "en"), (vietnamese, "vi")):
        assert page.count(f'<td class="survey">{title[lang]} <span') == 5
    assert f'selected>{title["en"]}' not in english and f">{title['en']}</option>" in english


def test_an_interview_outside_the_assignment_is_kept_and_flagged(app, accounts):
    token = accounts.token("volunteer")
    with app.app_context():
        user = db.session().exec(select(User).where(User.username == "volunteer-api")).one()
        db.session().add(WardAssignment(user_id=user.id, ward_code=HOAN_KIEM))
        db.session().commit()
    phone = app.test_client()
    inside, outside = submit(phone, app, token), submit(phone, app, token, ward=BA_DINH)
    with app.app_context():
        flagged = set(db.session().exec(select(ResponseFlag.response_id)
                                        .where(ResponseFlag.flag == "outside_assignment")).all())
    assert flagged == {outside} and inside not in flagged
    accounts.login("admin")
    page = app.test_client()
    page.post("/accounts/login", data={"username": "admin-user", "password": "correct-horse-9"})
    listed = page.get("/admin/submissions?lang=en&flag=outside_assignment").get_data(as_text=True)
    assert ids_on(listed) == [outside] and "not assigned to the volunteer" in listed
    quality = page.get("/admin/quality?lang=en").get_data(as_text=True)
    assert f"<tr><td>{outside}</td>" in quality and "Interview in a ward not assigned to the volunteer" in quality


@pytest.mark.parametrize("route", ["/admin/submissions/{id}", "/admin/submissions/{id}/edit?question=birth_year"])
def test_supervisor_cannot_open_or_change_another_ward(app, field, route):
    ids, supervisor = field
    assert supervisor.get(route.format(id=ids["elsewhere"])).status_code == 404
    assert supervisor.post(f"/admin/submissions/{ids['elsewhere']}/review", data={"status": "rejected"}).status_code == 404
    assert supervisor.post(f"/admin/submissions/{ids['elsewhere']}/edit?question=birth_year",
                           data={"value": "1950", "reason": "x"}).status_code == 404
    supervisor.post("/admin/submissions/bulk", data={"bulk": "reject", "confirm": "yes"})
    with app.app_context():
        assert not db.session().get(Response, ids["elsewhere"]).is_excluded  # a bulk action stays in scope


def test_flags_of_responses_stored_before_flags_were_kept(app, field, runner):
    ids, _supervisor = field
    with app.app_context():
        for flag in db.session().exec(select(ResponseFlag)).all():
            db.session().delete(flag)
        db.session().commit()
    result = runner.invoke(args=["flag-responses"])
    assert result.exit_code == 0 and "responses with quality flags: 5" in result.output  # fast, straight, twins, elsewhere (fast)
    with app.app_context():
        stored = {(r, f) for r, f in db.session().exec(select(ResponseFlag.response_id, ResponseFlag.flag))}
    assert (ids["fast"], "too_fast") in stored and (ids["straight"], "straight_lined") in stored
    assert runner.invoke(args=["flag-responses"]).exit_code == 0  # again: nothing doubled
    with app.app_context():
        assert len(db.session().exec(select(ResponseFlag)).all()) == len(stored)

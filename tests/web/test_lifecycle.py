"""A survey's life from upload to archive: uploads are drafts with their own names, staff preview
them (answers kept as tests), publishing opens one version, dates and closing stop responses, and
every step is in the audit log."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import func, select

from tests.surveys.test_upload_limits import LAUGHS, workbook
from web import db, tables
from web.models import AuditEvent, PendingUpload, Response, Survey, SurveyVersion

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL

XLSFORMS = Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms"
FIVE = ["kobo-acknowledge.xlsx", "kobo-calculations_constraints_matrix.xlsx", "kobo-repeating_matrix_question.xlsx",
        "kobo-sample_xlsform.xlsx", "pyxform-yes_or_no_question.xlsx"]
PRIVACY = {"controller": "UBND phường Hoàn Kiếm, 126 Hàng Trống", "privacy_contact": "024 3825 0000"}


def upload(client, name: str, content: bytes, lang: str = "en"):
    return client.post(f"/admin/surveys/upload?lang={lang}", data={"instrument": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def review_values(page: str) -> dict[str, str]:
    """The slug and titles the review page proposes (its text inputs)."""
    return dict(re.findall(r'<input[^>]*?name="((?:slug|title_\w+))"[^>]*?value="([^"]*)"', page)) | {
        name: value for value, name in re.findall(r'<input[^>]*?value="([^"]*)"[^>]*?name="((?:slug|title_\w+))"', page)}


def save(client, name: str, content: bytes, **changes):
    """Upload, read the review page, confirm with ``changes``: the final response and the review page."""
    checked = upload(client, name, content)
    assert checked.status_code == 302, checked.get_data(as_text=True)[:2000]
    review = client.get(checked.headers["Location"] + "?lang=en").get_data(as_text=True)
    values = {k: v.replace("&amp;", "&") for k, v in review_values(review).items()}
    return client.post(checked.headers["Location"] + "?lang=en", data={**values, **changes}), review


def versions(app) -> list[tuple[str, int, str]]:
    with app.app_context():
        rows = db.session().exec(select(Survey.slug, SurveyVersion.version, SurveyVersion.status)
                                 .join(Survey, Survey.id == SurveyVersion.survey_id)).all()
        return sorted(tuple(r) for r in rows)


def version_of(app, slug: str, number: int = 1) -> SurveyVersion:
    with app.app_context():
        return db.session().exec(select(SurveyVersion).join(Survey, Survey.id == SurveyVersion.survey_id)
                                 .where(Survey.slug == slug, SurveyVersion.version == number)).one()


def survey_id(app, slug: str) -> int:
    with app.app_context():
        return db.session().exec(select(Survey.id).where(Survey.slug == slug)).one()


def audit_actions(app) -> list[tuple[str, str | None, str | None]]:
    with app.app_context():
        return [(e.action, e.target, e.actor_name) for e in
                db.session().exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def changed_sample(form_id: str) -> bytes:
    """kobo-sample_xlsform.xlsx naming itself ``form_id``, with a question worded differently."""
    book = openpyxl.load_workbook(XLSFORMS / "kobo-sample_xlsform.xlsx")
    book["survey"]["C2"] = "What is your full name?"
    settings = book["settings"]
    settings["A1"], settings["A2"] = "form_id", form_id
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_five_unrelated_forms_become_five_drafts_and_one_published_form_is_public(app, client, accounts):
    accounts.login("admin")
    before = versions(app)
    for name in FIVE:
        saved, review = save(client, name, (XLSFORMS / name).read_bytes())
        assert saved.status_code == 302, name
        assert f"{name} is a valid instrument" in review, "the page names the user's file"
    slugs = ["kobo-acknowledge", "kobo-calculations-constraints-matrix", "kobo-repeating-matrix-question",
             "kobo-sample-xlsform", "pyxform-yes-or-no-question"]
    assert versions(app) == sorted(before + [(s, 1, "draft") for s in slugs])
    home = client.get("/?lang=en").get_data(as_text=True)
    for slug in slugs:
        assert client.get(f"/s/{slug}").status_code == 404 and f"/s/{slug}" not in home
    titles = client.get("/admin/surveys?lang=en").get_data(as_text=True)
    assert "Repeating a Matrix Question" in titles and "kobo-sample_xlsform.xlsx" in titles

    chosen = version_of(app, "kobo-repeating-matrix-question")
    client.post(f"/admin/surveys/{chosen.survey_id}/settings", data=PRIVACY)
    assert client.post(f"/admin/surveys/versions/{chosen.id}/state", data={"state": "open"}).status_code == 302
    home = client.get("/?lang=en").get_data(as_text=True)
    assert "/s/kobo-repeating-matrix-question" in home
    assert [s for s in slugs if f"/s/{s}" in home] == ["kobo-repeating-matrix-question"]
    assert client.get("/s/kobo-repeating-matrix-question").status_code == 200

    # a sixth upload: a changed kobo-sample_xlsform that names itself by form_id, under another file name
    sample = version_of(app, "kobo-sample-xlsform")
    client.post(f"/admin/surveys/{sample.survey_id}/settings", data=PRIVACY)
    client.post(f"/admin/surveys/versions/{sample.id}/state", data={"state": "open"})
    content = changed_sample("kobo_sample_xlsform")
    unsure, review = save(client, "sample-2026.xlsx", content)
    assert unsure.status_code == 422, "a matching name is not merged without the admin's word"
    assert "A survey named kobo-sample-xlsform already exists" in review and "version 2 of kobo-sample-xlsform" in review
    assert "Choose whether this file is its next version" in unsure.get_data(as_text=True)
    taken, _ = save(client, "sample-2026.xlsx", content, target="new")
    assert taken.status_code == 422 and "is taken by another survey" in taken.get_data(as_text=True)
    confirmed, _ = save(client, "sample-2026.xlsx", content, target="version")
    assert confirmed.status_code == 302
    assert ("kobo-sample-xlsform", 1, "open") in versions(app) and ("kobo-sample-xlsform", 2, "draft") in versions(app)
    assert client.get("/s/kobo-sample-xlsform?lang=en").status_code == 200
    v2 = version_of(app, "kobo-sample-xlsform", 2)
    assert v2.definition["pages"][0]["questions"][0]["label"]["en"] == "What is your full name?"
    client.post(f"/admin/surveys/versions/{v2.id}/state", data={"state": "open"})
    assert ("kobo-sample-xlsform", 1, "closed") in versions(app) and ("kobo-sample-xlsform", 2, "open") in versions(app)
    events = audit_actions(app)
    assert ("survey_closed", "survey kobo-sample-xlsform v1", "admin-user") in events
    assert ("survey_published", "survey kobo-sample-xlsform v2", "admin-user") in events
    assert sum(1 for e in events if e[0] == "survey_uploaded") == 6


def test_another_name_keeps_a_different_form_apart(app, client, accounts):
    accounts.login("admin")
    save(client, "kobo-sample_xlsform.xlsx", (XLSFORMS / "kobo-sample_xlsform.xlsx").read_bytes())
    saved, _ = save(client, "other.xlsx", changed_sample("kobo_sample_xlsform"), slug="household-sample",
                    title_en="Household sample", target="new")
    assert saved.status_code == 302
    assert ("household-sample", 1, "draft") in versions(app) and ("kobo-sample-xlsform", 1, "draft") in versions(app)


def test_a_vietnamese_file_name_gives_the_name_and_messages_name_the_file(app, client, accounts):
    accounts.login("admin")
    checked = upload(client, "Khảo sát Đống Đa.xlsx", (XLSFORMS / "pyxform-yes_or_no_question.xlsx").read_bytes())
    review = client.get(checked.headers["Location"] + "?lang=vi").get_data(as_text=True)
    assert 'value="khao-sat-dong-da"' in review and 'value="Khảo sát Đống Đa"' in review
    assert "tên lấy từ tên tệp" in review.lower() or "tên tệp" in review
    bad = upload(client, "Phiếu hỏng.xlsx", (XLSFORMS / "pyxform-bad_calc.xlsx").read_bytes(), lang="vi")
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Phiếu hỏng.xlsx, trang tính &#39;survey&#39;, dòng 2" in body  # the place in the page's language
    assert "instrument.xlsx" not in body and "không hợp lệ" in body


def walk_yes_no(client, slug: str) -> None:
    client.post(f"/s/{slug}")
    done = client.post(f"/s/{slug}/p/0", data={"good_day": "yes", "nav": "next"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/s/{slug}/done"), done.status_code


def test_a_preview_walks_the_real_pages_and_its_answers_stay_tests(app, client, accounts):
    accounts.login("admin")
    save(client, "yes-no.xlsx", (XLSFORMS / "pyxform-yes_or_no_question.xlsx").read_bytes())
    draft = version_of(app, "yes-no")
    client.post(f"/admin/surveys/versions/{draft.id}/state", data={"state": "preview"})
    assert app.test_client().get("/s/yes-no").status_code == 404, "a preview is not public"
    researcher = app.test_client()
    accounts.client = researcher
    accounts.login("researcher")
    started = researcher.get(f"/preview/{draft.id}")
    assert started.status_code == 302 and started.headers["Location"].endswith("/s/yes-no")
    assert "your answers are kept as tests" in researcher.get("/s/yes-no?lang=en").get_data(as_text=True)
    researcher.post("/s/yes-no")
    page = researcher.get("/s/yes-no/p/0?lang=en").get_data(as_text=True)
    assert "have you had a good day today?" in page.lower() and "your answers are kept as tests" in page
    walk_yes_no(researcher, "yes-no")
    assert researcher.get("/s/yes-no/done").status_code == 200
    with app.app_context():
        session = db.session()
        stored = session.exec(select(Response)).all()
        assert [(r.is_test, r.answers.get("good_day")) for r in stored] == [(True, "yes")]
        assert tables.responses_frame(session, "yes-no").empty, "tests never reach results or exports"
    sid = survey_id(app, "yes-no")
    client.post(f"/admin/surveys/{sid}/settings", data=PRIVACY)
    client.post(f"/admin/surveys/versions/{draft.id}/state", data={"state": "open"})
    listing = client.get("/admin/surveys?lang=en").get_data(as_text=True)
    assert "1 test (CSV)" in listing
    csv = client.get(f"/admin/surveys/versions/{draft.id}/tests.csv").get_data(as_text=True)
    assert "good_day" in csv and ",yes" in csv
    public = app.test_client()
    walk_yes_no(public, "yes-no")
    with app.app_context():
        frame = tables.responses_frame(db.session(), "yes-no")
        assert len(frame) == 1, "the public answer counts, the test does not"
        [test_id] = [r.id for r in db.session().exec(select(Response).where(Response.is_test == True)).all()]  # noqa: E712
        public_id = int(frame["response_id"].iloc[0])
    listing = client.get(f"/admin/submissions?survey={sid}&lang=en").get_data(as_text=True)
    assert f'href="/admin/submissions/{public_id}' in listing and f'href="/admin/submissions/{test_id}"' not in listing
    fieldwork = client.get("/admin/fieldwork?survey=yes-no&lang=en")
    assert fieldwork.status_code == 200
    assert ("survey_previewed", "survey yes-no v1", "admin-user") in audit_actions(app)


def test_dates_in_hanoi_time_open_and_close_by_themselves(app, client, accounts):
    accounts.login("admin")
    save(client, "yes-no.xlsx", (XLSFORMS / "pyxform-yes_or_no_question.xlsx").read_bytes())
    version = version_of(app, "yes-no")
    client.post(f"/admin/surveys/{version.survey_id}/settings", data=PRIVACY)
    wrong = client.post(f"/admin/surveys/versions/{version.id}/state?lang=en",
                        data={"state": "open", "opens_at": "2031-01-02T08:00", "closes_at": "2031-01-01T08:00"})
    assert wrong.status_code == 422 and "The closing date must come after the opening date." in wrong.get_data(as_text=True)
    garbled = client.post(f"/admin/surveys/versions/{version.id}/state?lang=vi", data={"state": "open", "opens_at": "mai"})
    assert garbled.status_code == 422 and ("yes-no", 1, "draft") in versions(app)
    client.post(f"/admin/surveys/versions/{version.id}/state",
                data={"state": "open", "opens_at": "2031-01-01T08:00", "closes_at": "2031-02-01T17:00"})
    stored = version_of(app, "yes-no")
    opens = stored.opens_at.replace(tzinfo=stored.opens_at.tzinfo or dt.UTC)
    assert opens == dt.datetime(2031, 1, 1, 1, 0, tzinfo=dt.UTC), "08:00 in Hà Nội is 01:00 UTC"
    waiting = client.get("/s/yes-no?lang=en")
    assert waiting.status_code == 404 and "It opens on" in waiting.get_data(as_text=True)
    assert "/s/yes-no" not in client.get("/").get_data(as_text=True)
    with app.app_context():  # the dates arrive: open now, closing a minute ago
        session = db.session()
        row = session.get(SurveyVersion, stored.id)
        row.opens_at, row.closes_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        session.add(row)
        session.commit()
    assert client.get("/s/yes-no").status_code == 200
    with app.app_context():
        session = db.session()
        row = session.get(SurveyVersion, stored.id)
        row.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.add(row)
        session.commit()
    closed = client.get("/s/yes-no?lang=vi")
    assert closed.status_code == 410 and "Khảo sát này đã đóng" in closed.get_data(as_text=True)
    client.get("/admin/surveys")  # the list applies the schedule, in the audit log
    assert ("yes-no", 1, "closed") in versions(app)
    assert ("survey_closed", "survey yes-no v1", "schedule") in audit_actions(app)


def test_archiving_hides_a_version_and_keeps_its_responses(app, client, accounts):
    accounts.login("admin")
    save(client, "yes-no.xlsx", (XLSFORMS / "pyxform-yes_or_no_question.xlsx").read_bytes())
    version = version_of(app, "yes-no")
    client.post(f"/admin/surveys/{version.survey_id}/settings", data=PRIVACY)
    client.post(f"/admin/surveys/versions/{version.id}/state", data={"state": "open"})
    walk_yes_no(app.test_client(), "yes-no")
    refused = client.post(f"/admin/surveys/versions/{version.id}/state?lang=en", data={"state": "archived"})
    assert refused.status_code == 409, "an open version is closed before it is archived"
    client.post(f"/admin/surveys/versions/{version.id}/state", data={"state": "closed"})
    client.post(f"/admin/surveys/versions/{version.id}/state", data={"state": "archived"})
    assert 'data-slug="yes-no"' not in client.get("/admin/surveys").get_data(as_text=True)
    assert 'data-slug="yes-no"' in client.get("/admin/surveys?archived=1").get_data(as_text=True)
    assert client.get("/s/yes-no").status_code == 410
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(Response)).one() == 1
        assert len(tables.responses_frame(db.session(), "yes-no")) == 1, "still in the admin's exports"
    assert [a for a, t, _ in audit_actions(app) if t == "survey yes-no v1"][-3:] == [
        "survey_published", "survey_closed", "survey_archived"]


def test_the_builtin_demo_surveys_start_open(app):
    with app.app_context():
        states = db.session().exec(select(SurveyVersion.status)).all()
    assert states and set(states) == {"open"}


def test_an_upload_over_a_cap_gets_a_coded_translated_error_and_stores_nothing(app, client, accounts, tmp_path):
    accounts.login("admin")
    app.config["KHAOSAT_UPLOAD_MAX_CHOICES"] = 1_000
    before = versions(app)
    big = upload(client, "Danh sách phường.xlsx", workbook(tmp_path / "w.xlsx", choices=5_000).read_bytes(), lang="vi")
    body = big.get_data(as_text=True)
    assert big.status_code == 422 and "Chưa lưu Danh sách phường.xlsx:" in body
    assert "[TOO_MANY_ROWS] Danh sách phường.xlsx, trang tính &#39;choices&#39;, dòng 1002" in body
    laughs = upload(client, "laughs.yaml", LAUGHS.encode(), lang="en")
    assert laughs.status_code == 422 and "[TOO_MANY_ALIASES] laughs.yaml" in laughs.get_data(as_text=True)
    assert versions(app) == before
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(PendingUpload)).one() == 0, "nothing waits"


def test_apply_schedule_closes_what_is_due(app, runner):
    with app.app_context():
        session = db.session()
        version = session.exec(select(SurveyVersion)).first()
        version.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        session.add(version)
        session.commit()
    assert runner.invoke(args=["apply-schedule"]).output.strip() == "closed: 1"
    assert runner.invoke(args=["apply-schedule"]).output.strip() == "closed: 0"
    with app.app_context():
        assert db.session().get(SurveyVersion, version.id).status == "closed"

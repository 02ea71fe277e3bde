"""Administrators manage accounts, tokens, ward assignments, quotas and survey versions; all audited."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlmodel import func, select

from web import db
from web.models import ApiToken, AuditEvent, Survey, SurveyVersion, User, WardAssignment, WardQuota

HOAN_KIEM = 70
BUILTIN = Path(__file__).resolve().parents[2] / "surveys" / "instruments" / "digital-skills.yaml"


def actions(app) -> list[str]:
    with app.app_context():
        return [e.action for e in db.session().exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def user(app, username) -> User:
    with app.app_context():
        return db.session().exec(select(User).where(User.username == username)).one()


def login(app, username, password):
    return app.test_client().post("/accounts/login", data={"username": username, "password": password})


def test_admin_lands_on_administration_with_a_nav_link(client, accounts):
    response = accounts.login("admin")
    assert response.headers["Location"].endswith("/admin/")
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert 'href="/admin/"' in page and "Accounts" in page
    assert "Quản trị" in client.get("/admin/?lang=vi").get_data(as_text=True)


def test_create_deactivate_reactivate_and_reset_password(app, client, accounts):
    accounts.login("admin")
    response = client.post("/admin/users", data={"username": "lan.nguyen", "role": "volunteer", "password": "mật-khẩu-9"})
    assert response.status_code == 302
    assert login(app, "lan.nguyen", "mật-khẩu-9").status_code == 302
    lan = user(app, "lan.nguyen")
    assert lan.role == "volunteer" and lan.password_hash.startswith("$argon2id$")

    client.post(f"/admin/users/{lan.id}/active")
    assert not user(app, "lan.nguyen").is_active
    assert login(app, "lan.nguyen", "mật-khẩu-9").status_code == 401
    client.post(f"/admin/users/{lan.id}/active")
    assert login(app, "lan.nguyen", "mật-khẩu-9").status_code == 302

    page = client.post(f"/admin/users/{lan.id}/password?lang=en").get_data(as_text=True)
    new_password = re.search(r'<p class="token code">([^<]+)</p>', page).group(1)
    assert login(app, "lan.nguyen", "mật-khẩu-9").status_code == 401
    assert login(app, "lan.nguyen", new_password).status_code == 302
    assert {"user_created", "user_deactivated", "user_activated", "password_reset"} <= set(actions(app))


def test_bad_new_account_is_refused_with_messages_and_changes_nothing(app, client, accounts):
    accounts.login("admin")
    accounts.create("volunteer", "taken")
    cases = [
        ({"username": "", "role": "volunteer", "password": "long-enough"}, "This field is required."),
        ({"username": "ok", "role": "volunteer", "password": "short"}, "At least 8 characters."),
        ({"username": "ok", "role": "emperor", "password": "long-enough"}, "Please choose one of the options."),
        ({"username": "bad name!", "role": "volunteer", "password": "long-enough"}, "Use letters, digits"),
        ({"username": "taken", "role": "volunteer", "password": "long-enough"}, "This username is taken."),
    ]
    for data, message in cases:
        response = client.post("/admin/users?lang=en", data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert "Tên đăng nhập này đã có người dùng." in client.post(
        "/admin/users?lang=vi", data=cases[-1][0]).get_data(as_text=True)
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(User)).one() == 2


def test_role_change_is_audited_and_an_admin_cannot_lock_themselves_out(app, client, accounts):
    accounts.login("admin")
    accounts.create("volunteer", "minh")
    minh = user(app, "minh")
    assert client.post(f"/admin/users/{minh.id}/role", data={"role": "supervisor"}).status_code == 302
    assert user(app, "minh").role == "supervisor"
    me = user(app, "admin-user")
    assert client.post(f"/admin/users/{me.id}/role", data={"role": "volunteer"}).status_code == 409
    assert client.post(f"/admin/users/{me.id}/active").status_code == 409
    assert user(app, "admin-user").role == "admin" and user(app, "admin-user").is_active
    with app.app_context():
        event = db.session().exec(select(AuditEvent).where(AuditEvent.action == "role_changed")).one()
        assert event.detail == {"from": "volunteer", "to": "supervisor"} and event.actor_name == "admin-user"


def test_token_shown_once_listed_with_last_use_and_revocable(app, client, accounts):
    accounts.login("admin")
    accounts.create("researcher", "hoa")
    hoa = user(app, "hoa")
    page = client.post("/admin/tokens?lang=en", data={"user_id": hoa.id}).get_data(as_text=True)
    token = re.search(r'<p class="token code">(ks_[^<]+)</p>', page).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    api = app.test_client()  # no session cookie: the token alone
    assert api.get("/api/v1/results/digital-skills", headers=headers).status_code == 200
    listing = client.get("/admin/tokens?lang=en").get_data(as_text=True)
    assert token not in listing and "hoa" in listing and "never" not in listing
    with app.app_context():
        stored = db.session().exec(select(ApiToken)).one()
    client.post(f"/admin/tokens/{stored.id}/revoke")
    assert api.get("/api/v1/results/digital-skills", headers=headers).status_code == 401
    assert "Revoked" in client.get("/admin/tokens?lang=en").get_data(as_text=True)
    assert {"token_created", "token_revoked"} <= set(actions(app))


@pytest.mark.both_backends
def test_ward_assignments_and_quotas(app, client, accounts):
    accounts.login("admin")
    accounts.create("volunteer", "thu")
    thu = user(app, "thu")
    assert client.post("/admin/assignments", data={"user_id": thu.id, "ward_code": HOAN_KIEM}).status_code == 302
    assert client.post("/admin/assignments", data={"user_id": thu.id, "ward_code": 123456}).status_code == 422
    assert "Phường Hoàn Kiếm" in client.get("/admin/assignments").get_data(as_text=True)
    with app.app_context():
        survey_id = db.session().exec(select(SurveyVersion)).first().survey_id
    assert client.post("/admin/quotas", data={"survey_id": survey_id, "ward_code": HOAN_KIEM, "target": 40}).status_code == 302
    assert client.post("/admin/quotas", data={"survey_id": survey_id, "ward_code": HOAN_KIEM, "target": 60}).status_code == 302
    response = client.post("/admin/quotas?lang=en", data={"survey_id": survey_id, "ward_code": HOAN_KIEM, "target": -3})
    assert response.status_code == 422 and "From 0 to 1,000,000." in response.get_data(as_text=True)
    with app.app_context():
        assert [q.target for q in db.session().exec(select(WardQuota)).all()] == [60]
        assignment = db.session().exec(select(WardAssignment)).one()
    client.post(f"/admin/assignments/{assignment.id}/delete")
    with app.app_context():
        assert db.session().exec(select(WardAssignment)).all() == []


def test_close_and_reopen_a_version(app, client, accounts):
    accounts.login("admin")
    with app.app_context():
        version = db.session().exec(select(SurveyVersion)).first()
    client.post(f"/admin/surveys/versions/{version.id}/state", data={"state": "closed"})
    closed = client.get("/s/digital-skills?lang=en")
    assert closed.status_code == 410 and "This survey is closed" in closed.get_data(as_text=True)
    client.post(f"/admin/surveys/versions/{version.id}/state", data={"state": "open"})
    assert client.get("/s/digital-skills").status_code == 200
    assert {"survey_closed", "survey_published"} <= set(actions(app))


def upload(client, name: str, content: bytes, lang: str = "en"):
    return client.post(f"/admin/surveys/upload?lang={lang}", data={"instrument": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_upload_a_yaml_instrument(app, client, accounts):
    accounts.login("admin")
    text = BUILTIN.read_text(encoding="utf-8").replace("slug: digital-skills", "slug: ward-pilot", 1)
    checked = upload(client, "pilot.yaml", text.encode())
    assert checked.status_code == 302 and "/admin/surveys/upload/" in checked.headers["Location"]
    review = client.get(checked.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert 'value="ward-pilot"' in review and "pilot.yaml is a valid instrument" in review
    saved = client.post(checked.headers["Location"], data={"slug": "ward-pilot", "title_vi": "Thí điểm phường",
                                                           "title_en": "Ward pilot"})
    assert saved.status_code == 302 and "/settings" in saved.headers["Location"]
    assert client.get("/s/ward-pilot").status_code == 404, "a draft is never public"
    with app.app_context():
        survey = db.session().exec(select(Survey).where(Survey.slug == "ward-pilot")).one()
        version = db.session().exec(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)).one()
        assert version.definition["title"] == {"vi": "Thí điểm phường", "en": "Ward pilot"}
        assert version.state.value == "draft" and version.source_file == "pilot.yaml"
    refused = client.post(f"/admin/surveys/versions/{version.id}/state?lang=en", data={"state": "open"})
    assert refused.status_code == 422 and "privacy notice needs the data controller" in refused.get_data(as_text=True)
    assert client.get("/s/ward-pilot").status_code == 404
    empty = client.post(f"/admin/surveys/{survey.id}/settings", data={"controller": " ", "privacy_contact": ""})
    assert empty.status_code == 422
    saved = client.post(f"/admin/surveys/{survey.id}/settings",
                        data={"controller": "UBND phường Hoàn Kiếm, 126 Hàng Trống", "privacy_contact": "024 3825 0000"})
    assert saved.status_code == 302
    client.post(f"/admin/surveys/versions/{version.id}/state", data={"state": "open"})
    assert client.get("/s/ward-pilot").status_code == 200
    notice = client.get("/s/ward-pilot?lang=vi").get_data(as_text=True)
    assert "UBND phường Hoàn Kiếm, 126 Hàng Trống" in notice and "024 3825 0000" in notice
    assert "ward-pilot" in client.get("/admin/surveys").get_data(as_text=True)
    assert {"survey_uploaded", "survey_privacy_settings", "survey_published"} <= set(actions(app))


def test_a_bad_instrument_gets_clear_messages_and_changes_nothing(app, client, accounts):
    accounts.login("admin")
    with app.app_context():
        before = db.session().exec(select(func.count()).select_from(SurveyVersion)).one()
    broken = BUILTIN.read_text(encoding="utf-8").replace("type: yesno", "type: maybe", 1)
    for name, content, message in [
        ("form.yaml", broken.encode(), "maybe"),
        ("form.yaml", b"slug: [unclosed", ""),
        ("notes.txt", b"hello", "Choose a .yaml or .xlsx (XLSForm) file."),
        ("form.xlsx", b"not a spreadsheet", ""),
    ]:
        response = upload(client, name, content)
        assert response.status_code == 422, name
        body = response.get_data(as_text=True)
        assert "was not saved:" in body and message in body
    response = client.post("/admin/surveys/upload?lang=en", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(SurveyVersion)).one() == before

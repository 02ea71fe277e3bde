"""Logins and tokens end on the server: a cookie or token captured before an event fails after it.

Each test logs a volunteer in, takes the session cookie and the collection app's token, makes one
event happen (logout, password reset, role change, deactivation, expiry), then replays both from a
fresh client: the page redirects to the login, the API answers 401.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from tests.web.test_api import submission
from web import db
from web.auth import hash_password, new_token
from web.models import ApiToken, User, UserSession
from web.models.base import utcnow

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL

PASSWORD = "correct-horse-9"


def _login(app, username: str, role: str = "volunteer"):
    """A fresh client logged in as a new ``role`` user; returns (client, cookie value, app token)."""
    with app.app_context():
        db.session().add(User(username=username, role=role, password_hash=hash_password(PASSWORD)))
        db.session().commit()
    client = app.test_client()
    response = client.post("/accounts/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    token = client.post("/collect/token", headers={"X-KhaoSat-Collect": "1"}).get_json()["token"]
    return client, client.get_cookie("session").value, token


def _replay(app, cookie: str, token: str, uuid: str) -> tuple[int, str, int]:
    """(status of /collect/ with the captured cookie, its Location, status of a POST with the token)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    page = thief.get("/collect/")
    post = app.test_client().post("/api/v1/submissions", json=submission(app, uuid), headers={"Authorization": f"Bearer {token}"})
    return page.status_code, page.headers.get("Location", ""), post.status_code


def _admin(app):
    client, _, _ = _login(app, "boss", role="admin")
    return client


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session().exec(select(User).where(User.username == username)).one().id


def test_before_any_event_the_cookie_and_token_work(app):
    _, cookie, token = _login(app, "vol-ok")
    status, _, post = _replay(app, cookie, token, "11111111-aaaa-4aaa-8aaa-000000000001")
    assert (status, post) == (200, 201)


def test_logout_ends_the_session_and_the_app_token(app):
    client, cookie, token = _login(app, "vol-out")
    response = client.post("/accounts/logout")
    assert response.status_code == 302 and "/collect/signed-out" in response.headers["Location"]
    status, location, post = _replay(app, cookie, token, "11111111-aaaa-4aaa-8aaa-000000000002")
    assert status == 302 and "/accounts/login" in location
    assert post == 401
    with app.app_context():
        assert db.session().exec(select(UserSession)).one().ended_at is not None


@pytest.mark.parametrize("event", ["reset_password", "change_role", "deactivate"])
def test_account_changes_end_every_session_and_every_token(app, event):
    phone, cookie, token = _login(app, "vol-changed")
    laptop = app.test_client()  # a second login of the same person
    laptop.post("/accounts/login", data={"username": "vol-changed", "password": PASSWORD})
    second = laptop.get_cookie("session").value
    with app.app_context():
        script = new_token(db.session().get(User, _user_id(app, "vol-changed")))
    admin = _admin(app)
    user_id = _user_id(app, "vol-changed")
    url, data = {"reset_password": (f"/admin/users/{user_id}/password", {}),
                 "change_role": (f"/admin/users/{user_id}/role", {"role": "researcher"}),
                 "deactivate": (f"/admin/users/{user_id}/active", {})}[event]
    assert admin.post(url, data=data).status_code in (200, 302)
    for captured, tok in ((cookie, token), (second, script)):
        status, location, post = _replay(app, captured, tok, "11111111-aaaa-4aaa-8aaa-000000000003")
        assert status == 302 and "/accounts/login" in location, event
        assert post == 401, event


def test_the_app_token_lives_as_long_as_its_login_and_the_login_lasts_the_set_days(app):
    app.config["KHAOSAT_SESSION_DAYS"] = 3
    client, cookie, token = _login(app, "vol-days")
    with app.app_context():
        login = db.session().exec(select(UserSession)).one()
        issued = db.session().exec(select(ApiToken)).one()
        lasts = login.expires_at.replace(tzinfo=None) - login.created_at.replace(tzinfo=None)
        assert abs(lasts - dt.timedelta(days=3)) < dt.timedelta(minutes=1)
        assert issued.session_id == login.id and issued.expires_at == login.expires_at
        login.expires_at = utcnow() - dt.timedelta(seconds=1)  # the days have passed
        db.session().add(login)
        db.session().commit()
    status, location, post = _replay(app, cookie, token, "11111111-aaaa-4aaa-8aaa-000000000004")
    assert status == 302 and "/accounts/login" in location
    assert post == 401


def test_a_volunteer_login_survives_a_browser_restart_a_staff_login_does_not(app):
    volunteer = app.test_client()
    with app.app_context():
        db.session().add(User(username="vol-cookie", role="volunteer", password_hash=hash_password(PASSWORD)))
        db.session().add(User(username="res-cookie", role="researcher", password_hash=hash_password(PASSWORD)))
        db.session().commit()
    first = volunteer.post("/accounts/login", data={"username": "vol-cookie", "password": PASSWORD})
    assert "Expires=" in first.headers["Set-Cookie"]  # kept across a restart of the browser
    assert first.headers["Location"].endswith("/collect/")  # volunteers land on the app
    staff = app.test_client().post("/accounts/login", data={"username": "res-cookie", "password": PASSWORD})
    assert "Expires=" not in staff.headers["Set-Cookie"]  # ends with the browser


def test_script_tokens_lapse_after_30_days_unless_renewed(app, runner):
    with app.app_context():
        db.session().add(User(username="script-user", role="researcher", password_hash=hash_password(PASSWORD)))
        db.session().commit()
    token = runner.invoke(args=["create-token", "--username", "script-user"]).output.strip()
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/results/digital-skills", headers=headers).status_code != 401
    with app.app_context():
        stored = db.session().exec(select(ApiToken)).one()
        left = stored.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
        assert dt.timedelta(days=29, hours=23) < left <= dt.timedelta(days=30)
        stored.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session().add(stored)
        db.session().commit()
        token_id = stored.id
    assert app.test_client().get("/api/v1/results/digital-skills", headers=headers).status_code == 401
    admin = _admin(app)
    page = admin.get("/admin/tokens?lang=en").get_data(as_text=True)
    assert "Expired" in page and "Renew for 30 days" in page
    assert admin.post(f"/admin/tokens/{token_id}/renew").status_code == 302
    assert app.test_client().get("/api/v1/results/digital-skills", headers=headers).status_code != 401


def test_an_app_token_cannot_be_renewed_nor_mint_another_token(app):
    _, _, token = _login(app, "vol-mint")
    minted = app.test_client().post("/collect/token", headers={"X-KhaoSat-Collect": "1",
                                                               "Authorization": f"Bearer {token}"})
    assert minted.status_code == 401
    admin = _admin(app)
    with app.app_context():
        app_token = db.session().exec(select(ApiToken).where(ApiToken.session_id.is_not(None))).first()
    assert admin.post(f"/admin/tokens/{app_token.id}/renew").status_code == 409


def test_changing_my_password_ends_my_other_logins_and_tokens_but_keeps_this_one(app):
    phone, cookie, token = _login(app, "vol-self")
    laptop = app.test_client()
    laptop.post("/accounts/login", data={"username": "vol-self", "password": PASSWORD})
    other = laptop.get_cookie("session").value
    wrong = laptop.post("/accounts/password?lang=en", data={"current": "nope", "new": "a-new-secret-1",
                                                            "again": "a-new-secret-1"})
    assert wrong.status_code == 422 and "The current password is wrong." in wrong.get_data(as_text=True)
    differ = laptop.post("/accounts/password?lang=vi", data={"current": PASSWORD, "new": "a-new-secret-1",
                                                             "again": "a-new-secret-2"})
    assert differ.status_code == 422 and "Hai mật khẩu mới không khớp." in differ.get_data(as_text=True)
    done = laptop.post("/accounts/password", data={"current": PASSWORD, "new": "a-new-secret-1",
                                                   "again": "a-new-secret-1"})
    assert done.status_code == 302
    assert laptop.get("/collect/").status_code == 200  # this browser stays logged in
    for captured in (cookie, other):  # the phone's login, and the laptop's old cookie
        status, location, post = _replay(app, captured, token, "11111111-aaaa-4aaa-8aaa-000000000005")
        assert status == 302 and "/accounts/login" in location and post == 401
    assert app.test_client().post("/accounts/login", data={"username": "vol-self",
                                                           "password": "a-new-secret-1"}).status_code == 302

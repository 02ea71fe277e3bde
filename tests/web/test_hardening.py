"""Hardening: security headers on every response, CSRF on every form, rate limits, the login audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlmodel import select

from tests.conftest import unavailable
from tests.web.test_access import routes
from tests.web.test_api import submission
from web import create_app, db
from web.auth import hash_password, new_token
from web.models import AuditEvent, User, UserSession
from web.models.base import utcnow

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        unavailable(f"Redis is not reachable at {REDIS_URL}")


def row_counts(app) -> dict[str, int]:
    """How many rows every table holds (one query)."""
    with app.app_context(), db.engine().connect() as conn:
        return dict(conn.execute(_count_query(app)).all())


def _count_query(app):
    names = app.extensions.get("test_table_names")
    if names is None:
        with app.app_context():
            names = app.extensions["test_table_names"] = [
                n for n in sa_inspect(db.engine()).get_table_names() if n != "alembic_version"]
    return text(" UNION ALL ".join(f"SELECT '{n}', COUNT(*) FROM \"{n}\"" for n in names))


@contextmanager
def row_counter(app) -> Iterator[Callable[[], dict[str, int]]]:
    """:func:`row_counts` for many counts: on one connection kept open in autocommit, so each count
    is one query, with no pool checkout (and its ping) or rollback around it."""
    query = _count_query(app)
    with app.app_context():
        engine = db.engine()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield lambda: dict(conn.execute(query).all())


def log_in_directly(app, client, role: str) -> None:
    """A session for a new user of ``role`` without the login form (which needs a CSRF token): the
    server's login record, and a cookie naming it."""
    with app.app_context():
        user = User(username=f"direct-{role}", role=role, password_hash=hash_password("correct-horse-9"))
        db.session().add(user)
        db.session().commit()
        user_id = user.id
        db.session().add(UserSession(user_id=user_id, sid_hash=hashlib.sha256(f"sid-{role}".encode()).hexdigest(),
                                     expires_at=utcnow() + dt.timedelta(hours=1)))
        db.session().commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session["sid"] = f"sid-{role}"


@pytest.mark.slow
@pytest.mark.both_backends
def test_security_headers_on_every_route_and_method(app, client, accounts):
    accounts.login("admin")
    for endpoint, url, method in [*routes(app), ("static", "/static/style.css", "GET"), ("-", "/nope", "GET")]:
        response = client.open(url, method=method)
        headers = response.headers
        csp = headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, url
        assert "frame-ancestors 'none'" in csp, url
        assert headers.get("X-Content-Type-Options") == "nosniff", url
        assert headers.get("Referrer-Policy") == "same-origin", url
        assert "camera=()" in headers.get("Permissions-Policy", ""), url
        if endpoint != "static":  # pages, downloads and API replies alike
            assert headers.get("Cache-Control") == "no-store", url
        assert "Strict-Transport-Security" not in headers, url  # plain HTTP without KHAOSAT_HTTPS


def test_hsts_on_every_response_with_https_and_static_files_stay_cacheable(app, client, accounts):
    app.config["KHAOSAT_HTTPS"] = True
    accounts.login("researcher")
    for url in ("/", "/research/", "/research/digital-skills/export.csv", "/api/v1/surveys/digital-skills",
                "/static/style.css", "/nope"):
        response = client.get(url)
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000", url
        assert (response.headers.get("Cache-Control") == "no-store") == (not url.startswith("/static/")), url


def test_session_cookie_is_httponly_lax_and_secure_behind_https(monkeypatch, tmp_path):
    monkeypatch.setenv("KHAOSAT_HTTPS", "1")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "x"})
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_every_form_post_needs_a_csrf_token(csrf_app, accounts):
    app = csrf_app
    client = app.test_client()
    log_in_directly(app, client, "admin")
    before = row_counts(app)
    checked = 0
    for endpoint, url, method in routes(app):
        if method != "POST" or endpoint.startswith("api."):
            continue
        response = client.post(url + "?lang=en", data={"username": "x", "password": "y", "code": "ABCDEFGH"})
        assert response.status_code == 400, url
        if endpoint in ("collect.token", "collect.unseal"):  # app calls: a custom header a cross-site form cannot send
            assert response.json == {"error": "The request could not be understood."}
        else:
            assert "The form expired" in response.get_data(as_text=True), url
        checked += 1
    assert checked >= 15  # every form post of the respond, privacy, accounts and admin areas
    assert row_counts(app) == before


def test_the_api_is_exempt_from_csrf_and_uses_bearer_tokens(csrf_app, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    response = csrf_app.test_client().post("/api/v1/submissions", json=submission(csrf_app), headers=headers)
    assert response.status_code == 201


def test_logins_and_failed_logins_are_audited_without_the_password(app, client, accounts):
    accounts.create("researcher", "hoa")
    client.post("/accounts/login", data={"username": "hoa", "password": "wrong-password-1"})
    client.post("/accounts/login", data={"username": "nobody", "password": "wrong-password-2"})
    client.post("/accounts/login", data={"username": "hoa", "password": "correct-horse-9"})
    client.post("/accounts/logout")
    with app.app_context():
        events = db.session().exec(select(AuditEvent).where(AuditEvent.action.in_(["login", "login_failed", "logout"]))
                                   .order_by(AuditEvent.id)).all()  # (setting up opened the built-in surveys)
    assert [(e.action, e.actor_name) for e in events] == [
        ("login_failed", "hoa"), ("login_failed", "nobody"), ("login", "hoa"), ("logout", "hoa")]
    assert events[0].detail == {"known_user": True} and events[1].detail == {"known_user": False}
    assert not any("wrong-password" in str(e.detail) for e in events)


@pytest.fixture(params=["memory", "redis"])
def limited(request, sqlite_template, tmp_path):
    """An app with rate limits on and low, counting in memory or in Redis."""
    storage = "memory://"
    if request.param == "redis":
        require_redis()
        storage = REDIS_URL
    path = tmp_path / "limited.sqlite"
    shutil.copy(sqlite_template, path)
    app = create_app({
        "TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{path}",
        "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": storage,
        "KHAOSAT_LOGIN_LIMIT": "3 per minute", "KHAOSAT_SUBMISSION_LIMIT": "2 per minute",
        "KHAOSAT_CODE_LIMIT": "2 per minute",
    })
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    yield app, {"REMOTE_ADDR": address}
    with app.app_context():
        db.engine().dispose()


def test_login_attempts_are_rate_limited(limited):
    app, environ = limited
    client = app.test_client()
    statuses = [client.post("/accounts/login?lang=en", data={"username": "x", "password": "guess-guess"},
                            environ_base=environ).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    blocked = client.post("/accounts/login?lang=vi", data={"username": "x", "password": "guess"}, environ_base=environ)
    assert blocked.status_code == 429 and "Quá nhiều yêu cầu" in blocked.get_data(as_text=True)
    other = app.test_client().post("/accounts/login", data={"username": "x", "password": "guess-guess"},
                                   environ_base={"REMOTE_ADDR": "10.255.255.1"})
    assert other.status_code == 401  # counted per address
    assert client.get("/accounts/login", environ_base=environ).status_code == 200  # reading the page is free


def test_submissions_are_rate_limited_per_token(limited):
    app, environ = limited
    with app.app_context():
        user = User(username="busy", role="volunteer", password_hash=hash_password("correct-horse-9"))
        db.session().add(user)
        db.session().commit()
        token = new_token(user)
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    statuses = [client.post("/api/v1/submissions", json=submission(app, uuid=f"limited-{i:04d}"), headers=headers,
                            environ_base=environ).status_code for i in range(3)]
    assert statuses == [201, 201, 429]
    refused = client.post("/api/v1/submissions", json={}, headers=headers, environ_base=environ).get_json()
    assert refused["errors"]["_"]["en"] == "Too many requests. Please wait a moment and try again."


def test_guessing_codes_is_rate_limited(limited):
    app, environ = limited
    client = app.test_client()
    statuses = [client.post("/erase", data={"code": f"GUESS{i}", "confirm": "yes"}, environ_base=environ).status_code
                for i in range(3)]
    assert statuses == [404, 404, 429]


def test_logout_is_a_post_with_a_csrf_token(csrf_app):
    client = csrf_app.test_client()
    log_in_directly(csrf_app, client, "admin")
    assert client.get("/accounts/logout").status_code == 405  # a link or an <img> from anywhere cannot log out
    assert client.post("/accounts/logout").status_code == 400  # nor can a cross-site form without the token
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert client.get("/admin/").status_code == 200  # still logged in
    form = re.search(r'<form class="logout" method="post" action="/accounts/logout">(.*?)</form>', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert '<button type="submit" class="link">Log out</button>' in form
    response = client.post("/accounts/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302  # to the login page

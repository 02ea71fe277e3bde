"""Fixtures shared by the whole suite: an app on SQLite and (where configured) on PostgreSQL.

``TEST_DATABASE_URL`` turns the PostgreSQL half on; ``CHROMIUM`` (or /usr/bin/chromium) the browser
tests. With ``KHAOSAT_REQUIRE_ALL_TESTS=1`` (set by CI) a missing one is an error, not a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from web import catalog, create_app, db
from web.config import normalise_database_url

REQUIRE_ALL = os.environ.get("KHAOSAT_REQUIRE_ALL_TESTS") == "1"
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgres"]
APP_TABLES = ["ward_covariates", "population_margins", "personal_details", "audit_events", "ward_assignments", "ward_quotas",
              "responses", "drafts", "api_tokens", "user_sessions", "users", "survey_versions", "surveys"]


def unavailable(reason: str):
    """Skip, or fail where CI demands that every test runs."""
    if REQUIRE_ALL:
        pytest.fail(f"required test environment missing: {reason}")
    pytest.skip(reason)


def _prepare(url: str, engine_options: dict) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": url, "ENGINE_OPTIONS": engine_options})
    with app.app_context():
        db.upgrade(db.engine())
        catalog.load_areas(db.session())
        catalog.publish_builtin(db.session())
        db.engine().dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    _prepare(f"sqlite:///{path}", {})
    return path


@pytest.fixture(scope="session")
def pg_schema():
    if not PG_URL:
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    import sqlalchemy

    schema = f"ks_test_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(normalise_database_url(PG_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = {"connect_args": {"options": f"-csearch_path={schema}"}}
    _prepare(PG_URL, options)
    yield options
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(request, backend, tmp_path):
    """A fresh app and database per test: areas loaded, built-in surveys published, nothing else."""
    config = {"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test", "SERVER_NAME": None,
              "RATELIMIT_ENABLED": False}
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "khaosat.sqlite"
        shutil.copy(template, path)
        config.update(DATABASE_URL=f"sqlite:///{path}", ENGINE_OPTIONS={})
    else:
        options = request.getfixturevalue("pg_schema")
        config.update(DATABASE_URL=PG_URL, ENGINE_OPTIONS=options)
    app = create_app(config)
    catalog.forget_versions()
    with app.app_context():
        if backend == "postgres":
            tables = ", ".join(APP_TABLES)
            with db.engine().begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            catalog.publish_builtin(db.session())
        db.session().close()
    yield app
    with app.app_context():
        db.engine().dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Accounts:
    """Create users and tokens, and log in, as a test needs."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def create(self, role: str, username: str | None = None, password: str = "correct-horse-9") -> str:
        from web.auth import hash_password
        from web.models import User

        username = username or f"{role}-user"
        with self.app.app_context():
            db.session().add(User(username=username, role=role, password_hash=hash_password(password)))
            db.session().commit()
        return username

    def login(self, role: str, password: str = "correct-horse-9"):
        username = self.create(role, password=password)
        return self.client.post("/accounts/login", data={"username": username, "password": password})

    def token(self, role: str) -> str:
        from sqlmodel import select

        from web.auth import new_token
        from web.models import User

        username = self.create(role, username=f"{role}-api")
        with self.app.app_context():
            user = db.session().exec(select(User).where(User.username == username)).one()
            return new_token(user)


@pytest.fixture
def accounts(app, client) -> Accounts:
    return Accounts(app, client)

"""Erasure leaves no copy in the database files: on SQLite at once (secure_delete and a checkpoint of
the write-ahead log), on PostgreSQL after ``khaosat vacuum`` (dead rows stay in the pages until then)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlmodel import select

from tests.conftest import PG_URL, Accounts, _prepare, unavailable
from tests.web.test_api import submission
from web import create_app, db
from web.config import normalise_database_url
from web.models import Response

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL

MARKER = "ERASE-ME-7QX9K2"


def submit_marked(app, client, accounts) -> int:
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    body = submission(app)
    body["meta"]["app_version"] = MARKER
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    with app.app_context():
        return db.session().exec(select(Response.id)).one()


def sqlite_files(app) -> dict[str, bytes]:
    path = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*")}


def pages_holding(app, marker: str) -> int:
    """How many pages of the PostgreSQL responses table hold ``marker``, dead rows included."""
    with app.app_context(), db.engine().begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        return conn.execute(text(
            "SELECT count(*) FROM generate_series(0, pg_relation_size('responses') / 8192 - 1) AS b "
            "WHERE position(convert_to(:marker, 'UTF8') IN get_raw_page('responses', b::int)) > 0"),
            {"marker": marker}).scalar_one()


def wait_until_no_snapshot_is_held(app, seconds: float = 60) -> None:
    """Wait for other sessions of the server (autovacuum's ANALYZE after the set-up, the app's own background
    work, other tests) to finish their transactions: VACUUM FULL keeps a dead row that an open snapshot may still
    see, or that a transaction which began before the erasure may (one that has written something holds an id,
    ``backend_xid``, even between statements). Those of other databases count too: with a long COPY running in
    another database, VACUUM FULL here kept the dead row ("1 dead row versions cannot be removed yet")."""
    deadline = time.monotonic() + seconds
    with app.app_context(), db.engine().connect() as conn:
        while time.monotonic() < deadline:
            held = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                     "AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)")).scalar_one()
            conn.rollback()
            if not held:
                return
            time.sleep(0.2)


def erase_as_admin(client, accounts, response_id: int) -> None:
    accounts.login("admin")
    assert client.post(f"/admin/responses/{response_id}/erase", data={"confirm": "yes"}).status_code == 302
    with client.application.app_context():
        assert db.session().get(Response, response_id) is None


def test_an_erased_response_leaves_no_copy_in_the_sqlite_files(app, client, accounts, backend):
    if backend != "sqlite":
        return  # PostgreSQL: the next test, on a database of its own
    response_id = submit_marked(app, client, accounts)
    assert any(MARKER.encode() in content for content in sqlite_files(app).values())
    erase_as_admin(client, accounts, response_id)
    files = sqlite_files(app)
    assert not any(MARKER.encode() in content for content in files.values()), list(files)
    assert len(files.get(Path(app.config["DATABASE_URL"]).name + "-wal", b"")) == 0


@pytest.fixture
def pg_app():
    """An app on a PostgreSQL database of its own: VACUUM keeps rows that a transaction open in the
    same database might still see, and other test runs share the ``test`` database."""
    if not PG_URL:
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    name = f"ks_erasure_{uuid.uuid4().hex[:10]}"
    server = sqlalchemy.create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalise_database_url(PG_URL).rsplit("/", 1)[0] + "/" + name
    _prepare(url, {})
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test", "DATABASE_URL": url,
                      "RATELIMIT_ENABLED": False})
    yield app
    with app.app_context():
        db.engine().dispose()
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def test_an_erased_response_leaves_postgresql_pages_after_khaosat_vacuum(pg_app):
    client = pg_app.test_client()
    accounts = Accounts(pg_app, client)
    response_id = submit_marked(pg_app, client, accounts)
    assert pages_holding(pg_app, MARKER) == 1
    erase_as_admin(client, accounts, response_id)
    assert pages_holding(pg_app, MARKER) == 1  # the dead row: why PostgreSQL needs a VACUUM after erasures
    for _ in range(3):  # as an admin would run it again when a long transaction still saw the row
        wait_until_no_snapshot_is_held(pg_app)
        result = pg_app.test_cli_runner().invoke(args=["vacuum"])
        assert result.exit_code == 0 and "erased rows are gone" in result.output
        if pages_holding(pg_app, MARKER) == 0:
            break
    assert pages_holding(pg_app, MARKER) == 0


def test_vacuum_keeps_every_live_row(app, client, accounts, runner):
    submit_marked(app, client, accounts)
    with app.app_context():
        before = db.session().exec(select(Response)).one()
    assert runner.invoke(args=["vacuum"]).exit_code == 0
    with app.app_context():
        after = db.session().exec(select(Response)).one()
    assert (after.uuid, after.answers, after.meta) == (before.uuid, before.answers, before.meta)

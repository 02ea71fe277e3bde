"""Research reads go to the read replica (``DATABASE_REPLICA_URL``), writes to the primary: a real
streaming replica of a throwaway cluster (pg_basebackup -R), whose replay is paused to make it lag."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from bench.submissions_load import prepare
from tests.conftest import unavailable
from tests.pg_cluster import Cluster, postgres_bin
from web import create_app, db
from web.auth import hash_password, new_token
from web.config import normalise_database_url
from web.models import User

pytestmark = pytest.mark.postgres


def scalar(url: str, sql: str):
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


class Api:
    """The app on ``config`` through Flask's test client, with a volunteer's and a researcher's token."""

    def __init__(self, config: dict, volunteer: str, researcher: str, version: int, answers: dict) -> None:
        self.app = create_app({"TESTING": True, "SECRET_KEY": "replica-test", "RATELIMIT_ENABLED": False, **config})
        self.client = self.app.test_client()
        self.volunteer, self.researcher, self.version, self.answers = volunteer, researcher, version, answers

    def submit(self) -> int:
        body = {"uuid": str(uuid.uuid4()), "survey": "digital-skills", "version": self.version,
                "answers": self.answers, "meta": {"language": "vi"}}
        return self.client.post("/api/v1/submissions", data=json.dumps(body), content_type="application/json",
                                headers={"Authorization": f"Bearer {self.volunteer}"}).status_code

    def responses_counted(self) -> int:
        """How many responses a researcher's CSV download holds (one row each, after the header)."""
        reply = self.client.get("/research/digital-skills/export.csv",
                                headers={"Authorization": f"Bearer {self.researcher}"})
        assert reply.status_code == 200, reply.data[:500]
        return len(reply.data.decode("utf-8-sig").strip().splitlines()) - 1

    def close(self) -> None:
        with self.app.app_context():
            db.engine().dispose()
            if "db_replica_engine" in self.app.extensions:
                self.app.extensions["db_replica_engine"].dispose()


def researcher_token(url: str) -> str:
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "replica-test"})
    with app.app_context():
        user = User(username="replica-researcher", role="researcher", password_hash=hash_password("a-long-password"))
        db.session().add(user)
        db.session().commit()
        token = new_token(user)
        db.engine().dispose()
    return token


def test_research_reads_go_to_the_replica_and_writes_to_the_primary():
    if postgres_bin() is None:
        unavailable("initdb is not installed (PostgreSQL server programs)")
    primary = Cluster().init()
    standby, apps = None, []
    try:
        volunteer, version, answers = prepare(primary.url(), None)
        researcher = researcher_token(primary.url())
        alone = Api({"DATABASE_URL": primary.url()}, volunteer, researcher, version, answers)
        apps.append(alone)
        assert [alone.submit() for _ in range(8)] == [201] * 8
        standby = primary.replica()
        both = Api({"DATABASE_URL": primary.url(), "DATABASE_REPLICA_URL": standby.url()}, volunteer, researcher,
                   version, answers)
        apps.append(both)
        wait_for(lambda: scalar(standby.url(), "SELECT count(*) FROM responses") == 8)
        assert both.responses_counted() == 8
        scalar(standby.url(), "SELECT pg_wal_replay_pause()")  # the replica now lags the primary

        assert [both.submit() for _ in range(4)] == [201] * 4  # writes go to the primary, never the replica
        assert scalar(primary.url(), "SELECT count(*) FROM responses") == 12
        assert both.responses_counted() == 8  # read from the lagging replica
        assert alone.responses_counted() == 12  # the primary has them all

        scalar(standby.url(), "SELECT pg_wal_replay_resume()")
        wait_for(lambda: scalar(standby.url(), "SELECT count(*) FROM responses") == 12)
        assert both.responses_counted() == 12
    finally:
        for app in apps:
            app.close()
        if standby is not None:
            standby.remove()
        primary.remove()

"""Weighted designs shared through Redis stay with their own database: two schemas of one PostgreSQL
database (chosen by ``search_path``, as the tests and a multi-tenant host do) never read each other's."""

from __future__ import annotations

import pandas as pd
import pytest
import redis

from tests.conftest import PG_URL, TEST_CONFIG
from tests.web.test_hardening import REDIS_URL, require_redis
from web import create_app, db
from web.research import snapshots

pytestmark = pytest.mark.postgres


def test_two_schemas_of_one_database_keep_their_snapshots_apart(pg_admin):
    require_redis()
    apps = [create_app({**TEST_CONFIG, "DATABASE_URL": PG_URL, "ENGINE_OPTIONS": pg_admin("ks_snap"),
                        "REDIS_URL": REDIS_URL}) for _ in range(2)]
    key = "snapshot-test:1"
    frames = [pd.DataFrame({"response_id": [1, 2], "weight": [float(i + 1), 2.0]}) for i in range(2)]
    for made, frame in zip(apps, frames, strict=True):
        with made.app_context():
            snapshots.save(db.session(), key, {"stamp": [1, 2, []]}, frame, pd.DataFrame({"x": [0]}))
    for made, frame in zip(apps, frames, strict=True):
        with made.app_context():
            _meta, stored, _diagnostics, _apart = snapshots.load(db.session(), key)
            assert stored["weight"].tolist() == frame["weight"].tolist()
            redis.Redis.from_url(REDIS_URL).delete(snapshots.redis_key(db.session(), key))

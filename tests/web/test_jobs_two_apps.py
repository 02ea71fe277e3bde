"""Beyond one machine: two app processes (two ports) on one PostgreSQL and one Redis share the jobs. A
download started through one is seen, queued and then ready, through the other, and downloads there."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import redis

from tests.conftest import unique
from tests.web.live_processes import Visitor, WebProcess, environment, run_worker
from tests.web.test_hardening import REDIS_URL, require_redis

pytestmark = pytest.mark.slow  # two app processes


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_job_started_through_one_app_is_seen_and_fetched_through_the_other(app, load_demo, accounts, tmp_path):
    require_redis()
    load_demo(8)
    accounts.create("researcher", "minh")
    queue = unique("khaosat-jobs")
    env = environment(app, KHAOSAT_JOB_QUEUE="rq", REDIS_URL=REDIS_URL, KHAOSAT_JOB_RQ_QUEUE=queue,
                      KHAOSAT_JOB_DIR=str(tmp_path / "shared-jobs"), KHAOSAT_JOB_THRESHOLD="100")
    one, other = WebProcess(env, tmp_path / "one.log"), WebProcess(env, tmp_path / "other.log")
    try:
        assert one.port != other.port
        through_one, through_other = Visitor(one), Visitor(other)
        through_one.login("minh")
        through_other.login("minh")
        job_id = through_one.prepare("csv", tier="public")
        assert through_other.status(job_id)["status"] == "queued"
        listed = through_other.open("/research/my-downloads?lang=en")[2].decode()
        assert "digital-skills-public-use-vi.csv" in listed and "Waiting to start" in listed
        run_worker(env)
        status = through_other.status(job_id)
        assert status["status"] == "done" and status["percent"] == 100 and status["total_rows"] > 900
        code, headers, body = through_other.open(status["file_url"])
        assert code == 200 and "public-use" in headers["Content-Disposition"]
        assert body == through_one.open(status["file_url"])[2]
        assert len(pd.read_csv(io.BytesIO(body), encoding="utf-8-sig")) == status["total_rows"]
        stranger = Visitor(other)
        accounts.create("researcher", "lan")
        stranger.login("lan")
        assert stranger.open(status["file_url"])[0] == 404
    finally:
        one.stop()
        other.stop()
        redis.Redis.from_url(REDIS_URL).delete(f"rq:queue:{queue}")

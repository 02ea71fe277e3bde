"""Jobs in real processes: an RQ worker (``khaosat worker``) against the real Redis, and jobs that outlive the
process that held them (a web process killed mid-job in thread mode, an RQ worker killed mid-job)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import redis
from sqlmodel import select

from tests.conftest import ON_POSTGRESQL, unique
from tests.web.live_processes import KHAOSAT, Visitor, WebProcess, environment, run_worker
from tests.web.test_hardening import REDIS_URL, require_redis
from tests.web.test_jobs import prepare, wait
from tests.web.xlsx_files import read_xlsx
from web import db
from web.models import Job, User

pytestmark = pytest.mark.slow  # RQ workers and web processes, some killed mid-job
# RQ runs as in production, on PostgreSQL; a web process keeping its jobs in threads, as `make run` does, on SQLite


@pytest.fixture
def rq_app(app, load_demo, tmp_path):
    """The demo in the test's database, downloads over 100 responses queued in Redis for ``khaosat worker``."""
    require_redis()
    load_demo(8)
    settings = {"KHAOSAT_JOB_QUEUE": "rq", "REDIS_URL": REDIS_URL, "KHAOSAT_JOB_RQ_QUEUE": unique("khaosat-jobs"),
                "KHAOSAT_JOB_DIR": str(tmp_path / "jobs"), "KHAOSAT_JOB_THRESHOLD": "100",
                "KHAOSAT_JOB_CHUNK_ROWS": "100"}
    app.config.update({k: int(v) if v.isdigit() else v for k, v in settings.items()})
    yield app, environment(app, **settings)
    redis.Redis.from_url(REDIS_URL).delete(f"rq:queue:{settings['KHAOSAT_JOB_RQ_QUEUE']}")


@ON_POSTGRESQL
def test_an_rq_worker_process_prepares_the_file(rq_app, client, accounts):
    app, env = rq_app
    accounts.login("researcher")
    job_id = prepare(client, fmt="sav")
    queued = client.get(f"/research/my-downloads/{job_id}.json").get_json()
    assert queued["status"] == "queued" and queued["percent"] == 0  # nothing runs it in this process
    assert redis.Redis.from_url(REDIS_URL).llen(f"rq:queue:{app.config['KHAOSAT_JOB_RQ_QUEUE']}") == 1
    output = run_worker(env)
    assert "jobs queued again: 0" in output
    status = wait(client, job_id, seconds=5)
    assert status["status"] == "done" and status["done_rows"] == status["total_rows"] > 900
    prepared = client.get(status["file_url"])
    app.config["KHAOSAT_JOB_THRESHOLD"] = 10**9
    assert len(prepared.data) == len(client.get("/research/digital-skills/export.sav?lang=vi").data)
    with app.app_context():
        job = db.session().get(Job, job_id)
        assert job.attempts == 1 and job.holder is None and job.file_size == len(prepared.data)


@ON_POSTGRESQL
def test_a_worker_killed_mid_job_is_replaced_and_the_job_finishes(rq_app, client, accounts, tmp_path):
    app, env = rq_app
    accounts.login("researcher")
    job_id = prepare(client, fmt="xlsx")
    with open(tmp_path / "worker.log", "wb") as log:  # chunks of 20 rows: slow enough to be caught mid-job
        worker = subprocess.Popen([*KHAOSAT, "worker"], env={**env, "KHAOSAT_JOB_CHUNK_ROWS": "20"}, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        assert wait(client, job_id, until=lambda s: s["done_rows"] > 0)["status"] == "running"
    finally:
        worker.kill()
        worker.wait(timeout=10)
    assert client.get(f"/research/my-downloads/{job_id}.json").get_json()["status"] == "running"
    output = run_worker(env)  # a new worker first takes back what the dead one held (in chunks of 100 rows)
    assert "jobs queued again: 1" in output
    status = wait(client, job_id, seconds=5)
    assert status["status"] == "done" and status["done_rows"] == status["total_rows"]
    book = read_xlsx(client.get(status["file_url"]).data, sheet_name="data")
    assert len(book) == status["total_rows"]
    with app.app_context():
        assert db.session().get(Job, job_id).attempts == 2
        assert list((tmp_path / "jobs").iterdir()) == [tmp_path / "jobs" / f"{job_id}.xlsx"]  # no half-made file


def test_a_job_survives_a_web_process_restart(app, load_demo, accounts, tmp_path):
    """Thread mode (the SQLite default): the web process running the job dies; the next one to start
    takes the job back, starts it again and the file appears."""
    load_demo(8)
    accounts.create("researcher", "ana")
    env = environment(app, KHAOSAT_JOB_THRESHOLD="100", KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    first = WebProcess({**env, "KHAOSAT_JOB_CHUNK_ROWS": "20"}, tmp_path / "web.log")  # slow enough to be caught
    try:
        visitor = Visitor(first)
        visitor.login("ana")
        job_id = visitor.prepare("xlsx")
        assert visitor.wait(job_id, lambda s: s["done_rows"] > 0)["status"] == "running"
    finally:
        first.kill()
    with app.app_context():
        left = db.session().exec(select(Job)).one()
        assert left.status == "running" and left.holder.split(":")[1] == str(first.process.pid)
    second = WebProcess(env, tmp_path / "web.log")  # the default chunks: only the restart matters here
    try:
        visitor.server = second  # the same browser, its session kept in the database
        status = visitor.wait(job_id, lambda s: s["finished"])
        assert status["status"] == "done" and status["done_rows"] == status["total_rows"] > 900
        code, headers, body = visitor.open(status["file_url"])
        assert code == 200 and len(read_xlsx(body, sheet_name="data")) == status["total_rows"]
    finally:
        second.stop()
    with app.app_context():
        assert db.session().get(Job, job_id).attempts == 2


@ON_POSTGRESQL
def test_a_job_whose_owner_was_deactivated_fails_with_a_message(rq_app, client, accounts):
    app, env = rq_app
    accounts.login("researcher")
    job_id = prepare(client, fmt="csv")
    with app.app_context():
        owner = db.session().exec(select(User).where(User.username == "researcher-user")).one()
        owner.is_active = False
        db.session().add(owner)
        db.session().commit()
    run_worker(env)
    admin = app.test_client()
    accounts.create("admin", "boss")
    admin.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    status = admin.get(f"/research/my-downloads/{job_id}.json?lang=en").get_json()
    assert status["status"] == "failed" and status["file_url"] is None
    assert status["state"] == "Failed: your account can no longer make this file."
    assert list((Path(app.config["KHAOSAT_JOB_DIR"])).glob("*")) == []

"""Large downloads prepared in the background by the web process's own worker thread (the default queue):
the page's progress, the file under "Your downloads", the same bytes and protection as the direct
download, owner-only access, cancelling, and removal after the retention time."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import redis
from sqlmodel import Session, delete, select

from tests.conftest import unique
from tests.web.test_hardening import REDIS_URL, require_redis
from tests.web.xlsx_files import read_xlsx
from web import background, db, jobs
from web.models import AuditEvent, Job, User


@pytest.fixture
def large(app, load_demo, tmp_path):
    """The demo (about 1,000 responses) with the background threshold at 100 responses and 100 rows a chunk."""
    load_demo(8)
    app.config.update(KHAOSAT_JOB_THRESHOLD=100, KHAOSAT_JOB_CHUNK_ROWS=100, KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    return app


def prepare(client, fmt: str = "csv", tier: str = "scientific", lang: str = "vi") -> str:
    """Press "Prepare" on the downloads page; the job's id (from the progress page it leads to)."""
    response = client.post(f"/research/digital-skills/prepare?lang={lang}", data={"fmt": fmt, "tier": tier})
    assert response.status_code == 303, response.data
    return re.fullmatch(r".*/research/my-downloads/([0-9a-f]{32})", response.headers["Location"]).group(1)


def wait(client, job_id: str, seconds: float = 60, until=lambda status: status["finished"]) -> dict:
    """Poll the status endpoint (as the page's script does) until the job finishes; every state seen."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get(f"/research/my-downloads/{job_id}.json").get_json()
        seen.append(status)
        if until(status):
            return {**status, "seen": seen}
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {seen[-1]} after {seconds} s")


def test_a_large_download_is_prepared_and_is_the_same_file(large, client, accounts):
    accounts.login("researcher")
    asked = client.get("/research/digital-skills/export.csv?lang=vi")  # a plain link: too large to stream here
    assert asked.status_code == 303 and asked.headers["Location"].endswith("/research/digital-skills/downloads")
    page = client.get("/research/digital-skills/downloads?lang=en").get_data(as_text=True)
    assert "prepared in the background" in page and "Prepare: CSV (UTF-8, opens in Excel)" in page
    job_id = prepare(client)
    progress = client.get(f"/research/my-downloads/{job_id}?lang=en").get_data(as_text=True)
    assert '<progress id="job-progress" max="100"' in progress and 'http-equiv="refresh"' in progress
    status = wait(client, job_id)
    assert status["status"] == "done" and status["percent"] == 100
    assert status["total_rows"] == status["done_rows"] > 900
    assert any(0 < s["percent"] < 100 for s in status["seen"]) or len(status["seen"]) == 1
    prepared = client.get(status["file_url"])
    assert prepared.status_code == 200
    assert prepared.headers["Content-Disposition"] == 'attachment; filename="synthetic-demo-digital-skills-scientific-use-vi.csv"'
    large.config["KHAOSAT_JOB_THRESHOLD"] = 10**9
    direct = client.get("/research/digital-skills/export.csv?lang=vi")
    assert prepared.data == direct.data  # one implementation: the same rows, protection and labels
    frame = pd.read_csv(io.BytesIO(prepared.data), encoding="utf-8-sig")
    assert len(frame) == status["total_rows"] and "birth_year" not in frame.columns
    with large.app_context():
        exports = db.session().exec(select(AuditEvent).where(AuditEvent.action == "export")).all()
        assert [e.detail.get("job") for e in exports] == [job_id, None]


def test_the_list_shows_size_format_and_times_in_ha_noi(large, client, accounts):
    accounts.login("researcher")
    job_id = prepare(client, fmt="xlsx", lang="en")
    status = wait(client, job_id)
    mine = client.get("/research/my-downloads?lang=en").get_data(as_text=True)
    assert "synthetic-demo-digital-skills-scientific-use-en.xlsx" in mine and "XLSX" in mine
    assert re.search(r"\d+\.\d (kB|MB)", mine) and "Ready" in mine
    with large.app_context():
        job = db.session().get(Job, job_id)
        finished_local = job.finished_at.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7)))
        expiry_local = finished_local + dt.timedelta(hours=24)
    assert expiry_local.strftime("%-d %b %Y, %H:%M") in mine  # Hà Nội time, 24 hours after it was made
    vi = client.get("/research/my-downloads?lang=vi").get_data(as_text=True)
    assert "Sẵn sàng" in vi and expiry_local.strftime("%H:%M %d/%m/%Y") in vi
    book = read_xlsx(client.get(status["file_url"]).data, sheet_name=None)
    assert len(book["data"]) == status["total_rows"] and {"codebook", "risk_report"} <= set(book)


def test_the_public_file_is_protected_as_the_direct_one(large, client, accounts):
    accounts.login("researcher")
    status = wait(client, prepare(client, fmt="parquet", tier="public"))
    large.config["KHAOSAT_JOB_THRESHOLD"] = 10**9
    direct = pd.read_parquet(io.BytesIO(client.get("/research/digital-skills/export-public.parquet?lang=vi").data))
    prepared = pd.read_parquet(io.BytesIO(client.get(status["file_url"]).data))
    pd.testing.assert_frame_equal(prepared, direct)
    assert "ward_code" not in prepared.columns or prepared.groupby(list(prepared.columns[:1])).size().min() >= 1


def test_only_the_owner_and_admins_see_a_job(large, app, accounts):
    owner = app.test_client()
    accounts.create("researcher", "owner")
    owner.post("/accounts/login", data={"username": "owner", "password": "correct-horse-9"})
    status = wait(owner, prepare(owner))
    job_id = status["id"]
    urls = [f"/research/my-downloads/{job_id}", f"/research/my-downloads/{job_id}.json", status["file_url"]]
    other = app.test_client()
    accounts.create("researcher", "someone-else")
    other.post("/accounts/login", data={"username": "someone-else", "password": "correct-horse-9"})
    assert [other.get(url).status_code for url in urls] == [404, 404, 404]
    assert other.post(f"/research/my-downloads/{job_id}/cancel").status_code == 404
    assert job_id not in other.get("/research/my-downloads").get_data(as_text=True)
    admin = app.test_client()
    accounts.create("admin", "boss")
    admin.post("/accounts/login", data={"username": "boss", "password": "correct-horse-9"})
    assert [admin.get(url).status_code for url in urls] == [200, 200, 200]
    assert owner.get(status["file_url"]).status_code == 200  # still there: nobody else could remove it


def test_the_full_file_is_for_admins_only(large, client, accounts):
    accounts.login("researcher")
    assert client.post("/research/digital-skills/prepare", data={"fmt": "csv", "tier": "full"}).status_code == 403
    with large.app_context():
        assert db.session().exec(select(Job)).all() == []


@pytest.mark.parametrize("data", [{"fmt": "exe", "tier": "scientific"}, {"fmt": "csv", "tier": "secret"}, {}])
def test_a_bad_request_changes_nothing(large, client, accounts, data):
    accounts.login("researcher")
    response = client.post("/research/digital-skills/prepare?lang=en", data=data)
    assert response.status_code == 303
    assert "That download does not exist" in client.get(response.headers["Location"]).get_data(as_text=True)
    with large.app_context():
        assert db.session().exec(select(Job)).all() == []


@pytest.mark.both_backends
def test_cancel_stops_the_work_and_removes_the_file(large, client, accounts):
    accounts.login("researcher")
    large.config["KHAOSAT_JOB_CHUNK_ROWS"] = 50
    job_id = prepare(client, fmt="xlsx")
    deadline = time.monotonic() + 30
    while client.get(f"/research/my-downloads/{job_id}.json").get_json()["done_rows"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    response = client.post(f"/research/my-downloads/{job_id}/cancel?lang=en")
    assert response.status_code == 303
    status = wait(client, job_id)
    assert status["status"] == "cancelled" and status["file_url"] is None
    assert 0 < status["done_rows"] < status["total_rows"]  # it stopped part way
    assert list(Path(large.config["KHAOSAT_JOB_DIR"]).rglob("*")) == []
    assert "Cancelled" in client.get("/research/my-downloads?lang=en").get_data(as_text=True)


def test_files_are_removed_after_the_retention_time(large, client, accounts, runner):
    accounts.login("researcher")
    kept, old = (wait(client, prepare(client, fmt=fmt)) for fmt in ("csv", "dta"))
    folder = Path(large.config["KHAOSAT_JOB_DIR"])
    assert len(list(folder.iterdir())) == 2
    with large.app_context():
        job = db.session().get(Job, old["id"])
        job.finished_at -= dt.timedelta(hours=24, minutes=1)
        db.session().add(job)
        db.session().commit()
    result = runner.invoke(args=["clean-jobs"])
    assert result.exit_code == 0 and "expired jobs removed: 1" in result.output
    assert [p.name for p in folder.iterdir()] == [f"{kept['id']}.csv"]
    assert client.get(old["file_url"]).status_code == 404 and client.get(kept["file_url"]).status_code == 200
    with large.app_context():
        assert [j.id for j in db.session().exec(select(Job)).all()] == [kept["id"]]


@pytest.mark.both_backends
def test_deleting_a_ready_file(large, client, accounts):
    accounts.login("researcher")
    status = wait(client, prepare(client))
    client.post(f"/research/my-downloads/{status['id']}/cancel")
    assert client.get(status["file_url"]).status_code == 404
    assert list(Path(large.config["KHAOSAT_JOB_DIR"]).iterdir()) == []


def test_a_small_survey_downloads_at_once(app, load_demo, client, accounts):
    load_demo(8)
    accounts.login("researcher")
    page = client.get("/research/digital-skills/downloads?lang=en").get_data(as_text=True)
    assert "Prepare:" not in page and "No downloads prepared yet" in page
    assert client.get("/research/digital-skills/export.csv").status_code == 200


def test_api_tokens_always_get_the_file(large, client, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    response = client.get("/research/digital-skills/export.csv", headers=headers)
    assert response.status_code == 200 and response.data.count(b"\r\n") > 900


@jobs.task("test-row-deleted")
def _row_deleted_as_it_writes(params: dict, progress: jobs.Progress) -> jobs.Output:
    """A task whose job row is deleted while it writes its file (the database emptied under it)."""
    path = Path(jobs.WORK_DIR.get()) / "rows.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with Session(progress.engine) as session:
        session.exec(delete(Job).where(Job.id == progress.job_id))
        session.commit()
    return jobs.Output(str(path), "rows.csv", "text/csv")


def test_a_job_whose_row_is_deleted_as_it_runs_ends_and_leaves_no_file(large, accounts):
    accounts.create("researcher")
    with large.app_context():
        owner = db.session().exec(select(User).where(User.username == "researcher-user")).one()
        job = Job(id=uuid.uuid4().hex, kind="test-row-deleted", owner_id=owner.id, params={}, title="rows")
        db.session().add(job)
        db.session().commit()
        jobs.execute(large, job.id)  # raised in the job thread before: the row it went back to was gone
        with Session(db.engine()) as session:
            assert session.get(Job, job.id) is None
    assert list(Path(large.config["KHAOSAT_JOB_DIR"]).iterdir()) == []  # neither the file nor its work folder


@pytest.mark.both_backends
def test_a_finished_app_starts_no_more_jobs_and_stops_the_running_one(large, client, accounts):
    """What each test's app does when it ends: the running job stops at its next chunk, the queued one stays
    queued (a later process takes it back), and the thread ends."""
    accounts.login("researcher")
    large.config["KHAOSAT_JOB_CHUNK_ROWS"] = 50
    running = prepare(client, fmt="xlsx")
    queued = prepare(client)
    deadline = time.monotonic() + 30
    while client.get(f"/research/my-downloads/{running}.json").get_json()["done_rows"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert background.finish(large, 60) == []  # the queue's thread, and nothing else, has ended
    assert not large.extensions["khaosat_jobs"].thread.is_alive()
    with large.app_context():
        assert db.session().get(Job, running).status == "cancelled"
        assert db.session().get(Job, queued).status == "queued"
    assert list(Path(large.config["KHAOSAT_JOB_DIR"]).glob(f"{running}*")) == []  # no half-written file


@jobs.task("test-note")
def _note(params: dict, progress: jobs.Progress) -> jobs.Output:
    """A task that writes a one-line file: the smallest job a worker can finish."""
    path = Path(jobs.WORK_DIR.get()) / "note.txt"
    path.write_text(params["text"], encoding="utf-8")
    return jobs.Output(str(path), "note.txt", "text/plain")


@pytest.mark.both_backends
def test_a_job_whose_entry_redis_lost_is_queued_again_and_finishes(app, accounts, tmp_path):
    """Redis here keeps nothing on disk: after a restart a waiting job's row is still "queued" but no worker will
    ever see it, and a weighting run waiting so would hold back every later one. A worker's recovery (at its start
    and every clean-up period) queues such a job again once it has waited a minute; a job Redis still holds is left."""
    require_redis()
    name = unique("khaosat-jobs")
    app.config.update(KHAOSAT_JOB_QUEUE="rq", REDIS_URL=REDIS_URL, KHAOSAT_JOB_RQ_QUEUE=name,
                      KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    accounts.create("researcher")
    store = redis.Redis.from_url(REDIS_URL)
    try:
        with app.app_context():
            owner = db.session().exec(select(User).where(User.username == "researcher-user")).one()
            lost = jobs.submit("test-note", {"text": "mất rồi"}, owner, "lost").id
            kept = jobs.submit("test-note", {"text": "còn"}, owner, "kept").id
            store.delete(f"rq:queue:{name}", f"rq:job:khaosat-{lost}")  # what a restart of Redis leaves
            store.rpush(f"rq:queue:{name}", f"khaosat-{kept}")
            assert jobs.recover(app) == 0  # younger than a minute: its entry may be on its way
            session = db.session()
            for job in session.exec(select(Job)).all():
                job.created_at -= dt.timedelta(seconds=jobs.LOST_AFTER_SECONDS + 1)
                session.add(job)
            session.commit()
            assert jobs.recover(app) == 1
            assert jobs.recover(app) == 0  # once is enough
            assert jobs.rq_queue(app).job_ids == [f"khaosat-{kept}", f"khaosat-{lost}"]
            jobs.run_queued(lost)  # what the worker runs for that entry
            with Session(db.engine()) as fresh:
                done = fresh.get(Job, lost)
                assert done.status == "done" and Path(done.file_path).read_text(encoding="utf-8") == "mất rồi"
    finally:
        store.delete(f"rq:queue:{name}", f"rq:job:khaosat-{lost}", f"rq:job:khaosat-{kept}")

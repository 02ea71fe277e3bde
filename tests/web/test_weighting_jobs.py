"""Weighting runs of a large survey are background jobs: after a change the pages keep the last complete weights,
labelled with the time they were made (Hà Nội time), the weighting page shows the run's progress, and the new
weights replace them when the run ends; a small survey is weighted in the request, as before. In-process
(the web process's job thread, on the test's database) and on RQ with the real Redis."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
import redis
from sqlmodel import select

from tests.conftest import unique
from tests.web.test_hardening import REDIS_URL, require_redis
from web import db, jobs, tables
from web.models import Job, Response
from web.research import snapshots

PAGE = "/research/digital-skills/weighting"


def _exclude_one(app) -> None:
    """A supervisor's exclusion: the served design is out of date (not only newer)."""
    with app.app_context():
        session = db.session()
        response = session.exec(select(Response).where(Response.is_excluded == False).order_by(Response.id)).first()  # noqa: E712
        response.is_excluded = True
        session.add(response)
        session.commit()


def _count(html: str) -> int:
    return int(re.search(r'id="weights-as-of">[^<]*?from ([\d,]+) responses', html).group(1).replace(",", ""))


def _run(app) -> Job | None:
    with app.app_context():
        return db.session().exec(select(Job).where(Job.kind == "weighting").order_by(Job.created_at.desc())).first()


def _wait(app, seconds: float = 120) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = _run(app)
        if job is not None and job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"the weighting run did not finish: {_run(app)}")


def forget_saved_weights(app) -> None:
    """Remove an earlier test's weights of this database from Redis (the same demo has the same stamp)."""
    with app.app_context():
        for key in redis.Redis.from_url(REDIS_URL).scan_iter(match=snapshots.redis_key(db.session(), "*")):
            redis.Redis.from_url(REDIS_URL).delete(key)


def shared_in(where: str, app):
    """For a fixture: ``app`` sharing its workers' state in the real Redis (``where`` = "redis", cleared before
    and after) or in the database ("database")."""
    if where == "redis":
        require_redis()
        app.config.update(REDIS_URL=REDIS_URL)
        forget_saved_weights(app)
        yield app
        forget_saved_weights(app)
    else:
        yield app


@pytest.fixture
def large(app, load_demo, tmp_path):
    load_demo(8)
    app.config.update(KHAOSAT_WEIGHTING_JOB_THRESHOLD=100, KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    return app


def _first(app, client, path: str) -> str:
    """The page once the survey's first weights are made (a run of their own: "being prepared" until it ends)."""
    assert '<meta http-equiv="refresh"' in client.get(path).get_data(as_text=True)
    _wait(app)
    return client.get(path).get_data(as_text=True)


def test_a_large_survey_is_weighted_again_in_the_background(large, client, accounts):
    accounts.login("researcher")
    first = _first(large, client, f"{PAGE}?lang=en")
    before = _count(first)
    made = re.search(r"made at ([^<]+?) from", first).group(1)
    _exclude_one(large)
    page = client.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert _count(page) == before and f"made at {made} from" in page  # the last complete weights, labelled
    assert "New weights are being made in the background" in page or _run(large).finished
    assert re.search(r"\d+ \w{3} \d{4}, \d\d:\d\d", made)  # the time, on the Hà Nội clock
    with large.app_context():
        job = _run(large)
        local = job.created_at.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert abs(dt.datetime.strptime(made, "%d %b %Y, %H:%M") - local.replace(tzinfo=None)) < dt.timedelta(minutes=5)
    vi = client.get(f"{PAGE}?lang=vi").get_data(as_text=True)
    assert "Bộ trọng số này được tạo lúc" in vi
    job = _wait(large)
    with large.app_context():  # the run reads every kept response (the self-selected ones are then kept apart)
        read = tables.response_count(db.session(), "digital-skills")
    assert job.status == "done" and job.total_rows == job.done_rows == read > before - 1 and job.file_path is None
    after = client.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert _count(after) == before - 1 and "being made in the background" not in after
    assert job.id not in client.get("/research/my-downloads").get_data(as_text=True)  # not a download


def test_one_run_at_a_time(large, client, accounts):
    accounts.login("researcher")
    _first(large, client, PAGE)
    _exclude_one(large)
    for _ in range(3):
        assert client.get(PAGE).status_code == 200
    _wait(large)
    assert client.get(PAGE).status_code == 200
    with large.app_context():
        assert len(db.session().exec(select(Job).where(Job.kind == "weighting")).all()) == 2  # the first, then one


def test_a_small_survey_is_weighted_at_once(app, load_demo, client, accounts):
    load_demo(8)
    accounts.login("researcher")
    before = _count(client.get(f"{PAGE}?lang=en").get_data(as_text=True))
    _exclude_one(app)
    page = client.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert _count(page) == before - 1 and "background" not in page and _run(app) is None


@pytest.mark.slow
def test_on_rq_the_worker_makes_the_weights(large, client, accounts):
    require_redis()
    name = unique("khaosat-jobs")
    large.config.update(KHAOSAT_JOB_QUEUE="rq", REDIS_URL=REDIS_URL, KHAOSAT_JOB_RQ_QUEUE=name)
    forget_saved_weights(large)
    try:
        accounts.login("researcher")
        assert "Figures being prepared" in client.get(f"{PAGE}?lang=en").get_data(as_text=True)
        with large.app_context():
            jobs.work(large, burst=True)  # the first weights
        before = _count(client.get(f"{PAGE}?lang=en").get_data(as_text=True))
        _exclude_one(large)
        page = client.get(f"{PAGE}?lang=en").get_data(as_text=True)
        assert _count(page) == before and "being made in the background" in page
        assert redis.Redis.from_url(REDIS_URL).llen(f"rq:queue:{name}") == 1
        with large.app_context():
            jobs.work(large, burst=True)  # what `khaosat worker` runs
        assert _run(large).status == "done"
        assert _count(client.get(f"{PAGE}?lang=en").get_data(as_text=True)) == before - 1
    finally:
        redis.Redis.from_url(REDIS_URL).delete(f"rq:queue:{name}")
        forget_saved_weights(large)

"""A large survey's first weights are a background run: until it ends every research page says the figures are
being prepared (how many responses are read, reloading itself without script) and the API answers 202 with
Retry-After; then the figures are shown. After new weights are made in the background, the results table and
the left-behind ranking last viewed are computed before the new weights are served, so their first view after a
change computes nothing (counted in the app's cache). On RQ (the real Redis: the run waits until the worker is
told to work) and in the web process's own job thread."""

from __future__ import annotations

import re
import time

import pytest
import redis
from sqlmodel import select

from tests.conftest import unique
from tests.web.test_hardening import REDIS_URL, require_redis
from tests.web.test_weighting_jobs import _count, _exclude_one, _run, _wait, forget_saved_weights
from web import db, jobs, tables
from web.models import Response

RESULTS = "/research/digital-skills?indicator=dsi_index&level=ward"
LEFT_BEHIND = "/research/digital-skills/left-behind?indicator=dsi_index"
WEIGHTING = "/research/digital-skills/weighting"
CHART = "/research/digital-skills/chart.png?indicator=dsi_index&level=ward&by=sex"
API = "/api/v1/results/digital-skills?indicator=dsi_index&by=ward"
PAGES = (RESULTS, LEFT_BEHIND, WEIGHTING)


@pytest.fixture
def large(app, load_demo, tmp_path):
    load_demo(8)
    app.config.update(KHAOSAT_WEIGHTING_JOB_THRESHOLD=100, KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    return app


@pytest.fixture
def on_rq(large):
    require_redis()
    name = unique("khaosat-jobs")
    large.config.update(KHAOSAT_JOB_QUEUE="rq", REDIS_URL=REDIS_URL, KHAOSAT_JOB_RQ_QUEUE=name)
    forget_saved_weights(large)
    yield large
    redis.Redis.from_url(REDIS_URL).delete(f"rq:queue:{name}")
    forget_saved_weights(large)  # the next test of this worker has the same database: none of these weights


def _shown(client, path: str) -> str:
    """The page once its figures are shown: reloaded as its meta refresh asks while it says "being prepared"."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        page = client.get(path).get_data(as_text=True)
        refresh = re.search(r'<meta http-equiv="refresh" content="(\d+)">', page)
        if refresh is None:
            return page
        time.sleep(0.1)  # the page asks for int(refresh) seconds; the test does not wait that long
    raise AssertionError(f"{path} still says the figures are being prepared")


def test_the_first_figures_of_a_large_survey_are_prepared_in_the_background(on_rq, client, accounts):
    accounts.login("researcher")
    first = client.get(f"{RESULTS}&lang=en")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and first.headers["Retry-After"] == "5"
    assert "Figures being prepared" in html and '<meta http-equiv="refresh" content="5">' in html
    assert "Reload now" in html and 'id="weights-as-of"' not in html and "<table" not in html
    vi = client.get(f"{LEFT_BEHIND}&lang=vi").get_data(as_text=True)
    assert "Đang chuẩn bị số liệu" in vi and "Tải lại ngay" in vi
    assert "Figures being prepared" in client.get(f"{WEIGHTING}?lang=en").get_data(as_text=True)
    chart = client.get(CHART)
    assert chart.status_code == 202 and chart.headers["Retry-After"] == "5"
    assert redis.Redis.from_url(REDIS_URL).llen(f"rq:queue:{on_rq.config['KHAOSAT_JOB_RQ_QUEUE']}") == 1  # one run
    with on_rq.app_context():
        jobs.work(on_rq, burst=True)  # what `khaosat worker` runs
        read = tables.response_count(db.session(), "digital-skills")
    job = _run(on_rq)
    assert job.status == "done" and job.total_rows == job.done_rows == read
    shown = client.get(f"{WEIGHTING}?lang=en").get_data(as_text=True)
    assert "being prepared" not in shown and _count(shown) > 100
    assert "<table" in client.get(RESULTS).get_data(as_text=True)
    assert client.get(CHART).headers["Content-Type"] == "image/png"


def test_the_api_answers_202_until_the_figures_are_ready(on_rq, client, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    waiting = client.get(API, headers=headers)
    body = waiting.get_json()
    assert waiting.status_code == 202 and waiting.headers["Retry-After"] == "5"
    assert body["status"] == "preparing" and body["retry_after"] == 5 and body["percent"] == 0
    assert body["message"]["en"].startswith("The figures are being prepared")
    assert body["message"]["vi"].startswith("Số liệu đang được chuẩn bị")
    assert client.get(API, headers=headers).status_code == 202  # still one run
    with on_rq.app_context():
        jobs.work(on_rq, burst=True)
    ready = client.get(API, headers=headers)
    assert ready.status_code == 200 and ready.get_json()["rows"]


def test_the_page_shows_the_run_s_progress(on_rq, client, accounts):
    accounts.login("researcher")
    client.get(RESULTS)
    with on_rq.app_context():  # the run has started and read some of the responses
        job = _run(on_rq)
        jobs.Progress(db.engine(), job.id).start(1000)
        jobs.Progress(db.engine(), job.id).advance(250)
    en = client.get(f"{RESULTS}&lang=en").get_data(as_text=True)
    assert "250 of 1,000 responses read" in en and 'value="25"' in en
    assert "Đã đọc 250 trên 1.000 phiếu trả lời" in client.get(f"{RESULTS}&lang=vi").get_data(as_text=True)


def test_when_the_run_fails_the_page_says_why(on_rq, client, accounts):
    accounts.login("researcher")
    with on_rq.app_context():  # a response on another ward code list: the weights cannot be made
        session = db.session()
        response = session.exec(select(Response).order_by(Response.id)).first()
        response.code_list = "other-list"
        session.add(response)
        session.commit()
    assert "Figures being prepared" in client.get(f"{RESULTS}&lang=en").get_data(as_text=True)
    with on_rq.app_context():
        jobs.work(on_rq, burst=True)
    assert _run(on_rq).status == "failed"
    page = client.get(f"{RESULTS}&lang=en")
    assert page.status_code == 409 and "two code lists" in page.get_data(as_text=True)


def test_in_the_web_process_the_page_shows_the_figures_once_the_run_ends(large, client, accounts):
    accounts.login("researcher")
    assert "Figures being prepared" in client.get(f"{LEFT_BEHIND}&lang=en").get_data(as_text=True)
    page = _shown(client, f"{LEFT_BEHIND}&lang=en")
    assert "Figures as of" in page and _wait(large).status == "done"


def test_a_small_survey_s_first_figures_are_made_at_once(app, load_demo, client, accounts):
    load_demo(8)
    accounts.login("researcher")
    page = client.get(f"{RESULTS}&lang=en").get_data(as_text=True)
    assert "being prepared" not in page and "<table" in page and _run(app) is None


def _built(app, name: str) -> int:
    return app.extensions["khaosat_cache"].built["derived", name]


def test_the_first_view_after_new_weights_computes_nothing(large, client, accounts):
    accounts.login("researcher")
    for path in (LEFT_BEHIND, RESULTS):  # the pages this researcher views, in English
        _shown(client, f"{path}&lang=en")
    before = _count(_shown(client, f"{WEIGHTING}?lang=en"))
    _exclude_one(large)
    assert _count(client.get(f"{WEIGHTING}?lang=en").get_data(as_text=True)) == before  # the last weights
    _wait(large)
    ranked, estimated = _built(large, "ranking"), _built(large, "estimate")
    left = client.get(f"{LEFT_BEHIND}&lang=en").get_data(as_text=True)
    assert f"from {before - 1:,} responses" in left  # the new weights
    assert _built(large, "ranking") == ranked  # made by the run, before the new weights were served
    assert f"from {before - 1:,} responses" in client.get(f"{RESULTS}&lang=en").get_data(as_text=True)
    assert _built(large, "estimate") == estimated
    client.get(f"{RESULTS.replace('dsi_index', 'internet_user')}&lang=en")  # a view not seen before is made now
    assert _built(large, "estimate") == estimated + 1

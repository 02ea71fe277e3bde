"""A large survey's first weights are a background run: until it ends every research page says the figures are
being prepared (how many responses are read, reloading itself without script) and the API answers 202 with
Retry-After; then the figures are shown. After new weights are made in the background, the results table and
the left-behind ranking last viewed are computed before the new weights are served, so their first view after a
change computes nothing (counted in the app's cache). A chart this worker has not drawn yet is drawn aside, its image
saying so meanwhile. On RQ (the real Redis: the run waits until the worker is
told to work) and in the web process's own job thread."""

from __future__ import annotations

import re
import time

import pytest
import redis
from sqlmodel import select, update

from tests.conftest import unique
from tests.web.test_hardening import REDIS_URL, require_redis
from tests.web.test_weighting_jobs import _count, _exclude_one, _run, _wait, forget_saved_weights, shared_in
from web import cache, db, jobs, tables
from web.models import Job, Response, WeightSnapshot

RESULTS = "/research/digital-skills?indicator=dsi_index&level=ward"
LEFT_BEHIND = "/research/digital-skills/left-behind?indicator=dsi_index"
WEIGHTING = "/research/digital-skills/weighting"
CHART = "/research/digital-skills/chart.png?indicator=dsi_index&level=ward&by=sex"
WARD_CHART = "/research/digital-skills/chart.png?indicator=dsi_index&level=ward"
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
    drawn = _drawn(client, CHART)  # drawn aside, as on any large survey: "being drawn" until then
    assert drawn.headers["Content-Type"] == "image/png"


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
    ready = _api_ready(client, headers)  # (its table may take a moment more: 202 meanwhile, as it says)
    assert ready.status_code == 200 and ready.get_json()["rows"]


def _api_ready(client, headers: dict):
    """The API's answer once it is not 202 (asked again as soon as it answers)."""
    deadline = time.monotonic() + 60
    while (answer := client.get(API, headers=headers)).status_code == 202 and time.monotonic() < deadline:
        assert answer.headers["Retry-After"] in ("2", "5")
        time.sleep(0.05)
    return answer


@pytest.mark.both_backends
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


def test_a_change_made_while_a_run_is_under_way_queues_one_more_run(on_rq, client, accounts):
    """A run under way read the responses when it started: an exclusion made meanwhile gets a run of its own
    (queued once), instead of waiting until a page asks again after the run ends."""
    queue = redis.Redis.from_url(REDIS_URL)
    name = f"rq:queue:{on_rq.config['KHAOSAT_JOB_RQ_QUEUE']}"
    accounts.login("researcher")
    client.get(RESULTS)
    with on_rq.app_context():
        jobs.work(on_rq, burst=True)  # the first weights
    assert "<table" in client.get(RESULTS).get_data(as_text=True)
    _exclude_one(on_rq)
    client.get(RESULTS)
    client.get(LEFT_BEHIND)  # asked again while it waits: it reads the responses when it starts
    assert queue.llen(name) == 1
    second = _run(on_rq)
    with on_rq.app_context():  # a worker has taken it and read the responses
        db.session().exec(update(Job).where(Job.id == second.id).values(status="running"))
        db.session().commit()
    client.get(RESULTS)
    assert queue.llen(name) == 1  # nothing has changed since: the run under way makes these weights
    _exclude_one(on_rq)  # a change while it runs
    client.get(RESULTS)
    client.get(LEFT_BEHIND)
    third = _run(on_rq)
    assert queue.llen(name) == 2 and third.id != second.id and third.status == "queued"


@pytest.mark.both_backends
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


def _drawn(client, path: str, seconds: float = 60):
    """The chart once drawn; every answer before it is the image saying it is being drawn (202)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = client.get(path)
        if answer.status_code == 200:
            return answer
        assert answer.status_code == 202 and answer.headers["Content-Type"].startswith("image/svg+xml")
        assert answer.headers["Retry-After"] in ("2", "5") and answer.headers["Cache-Control"] == "no-store"
        time.sleep(0.05)
    raise AssertionError(f"{path} was not drawn in {seconds} s")


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
    large.config.update(KHAOSAT_ASIDE_WAIT_SECONDS=60.0)  # (aside, and waited for: counted when the page answers)
    client.get(f"{RESULTS.replace('dsi_index', 'internet_user')}&lang=en")  # a view not seen before is made now
    assert _built(large, "estimate") == estimated + 1


# -- a worker that has no weights in memory yet (just started, or a restarted server) ---------------------------

def _new_worker(app) -> None:
    """What a gunicorn worker that has just started holds: nothing of the weights the last one made and saved
    (in Redis, or the weight_snapshots table), no views seen."""
    cache.init_app(app)
    app.extensions.pop("khaosat_viewed", None)


def _saved(app, client) -> int:
    """The survey's weights made by its first run and saved; how many responses they were made from."""
    count = _count(_shown(client, f"{WEIGHTING}?lang=en"))
    _wait(app)
    return count


@pytest.fixture(params=["database", "redis"])
def saved_in(request, large):
    """Where the weights are saved for the other workers: the weight_snapshots table, or the real Redis."""
    yield from shared_in(request.param, large)


def test_a_new_worker_loads_the_saved_weights_aside(saved_in, client, accounts):
    accounts.login("researcher")
    count = _saved(saved_in, client)
    _new_worker(saved_in)
    first = client.get(f"{RESULTS}&lang=en")
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and first.headers["Retry-After"] == "5"
    assert "Figures being prepared" in html and "this server has just started" in html
    assert '<meta http-equiv="refresh" content="5">' in html and "Reload now" in html and "<table" not in html
    vi = client.get(f"{LEFT_BEHIND}&lang=vi")
    assert vi.status_code == 200 and "Số liệu đang được nạp" in vi.get_data(as_text=True)
    shown = _shown(client, f"{WEIGHTING}?lang=en")
    assert _count(shown) == count and _run(saved_in).status == "done"  # loaded: no second run was queued
    assert "<table" in _shown(client, f"{RESULTS}&lang=en")


def test_the_api_of_a_new_worker_answers_202_then_200(saved_in, client, accounts):
    accounts.login("researcher")
    _saved(saved_in, client)
    _new_worker(saved_in)
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    waiting = client.get(API, headers=headers)
    body = waiting.get_json()
    assert waiting.status_code == 202 and waiting.headers["Retry-After"] == "5"
    assert body["status"] == "preparing" and body["percent"] is None
    assert body["message"]["en"].startswith("The figures are being loaded")
    assert body["message"]["vi"].startswith("Số liệu đang được nạp")
    answer = _api_ready(client, headers)
    assert answer.status_code == 200 and answer.get_json()["rows"]


def test_a_small_survey_s_saved_weights_are_loaded_in_the_request(app, load_demo, client, accounts):
    load_demo(8)
    accounts.login("researcher")
    before = _count(client.get(f"{WEIGHTING}?lang=en").get_data(as_text=True))
    _new_worker(app)
    page = client.get(f"{WEIGHTING}?lang=en").get_data(as_text=True)
    assert "being prepared" not in page and _count(page) == before


def test_saved_weights_that_cannot_be_read_are_made_again(large, client, accounts):
    accounts.login("researcher")
    count = _saved(large, client)
    with large.app_context():  # the saved frame is damaged (a disk error, a copy cut short)
        session = db.session()
        session.exec(update(WeightSnapshot).values(frame=b"not parquet"))
        session.commit()
    _new_worker(large)
    pages = [client.get(f"{path}&lang=en" if "?" in path else f"{path}?lang=en") for path in (RESULTS, LEFT_BEHIND)]
    assert all(p.status_code == 200 and "Figures being prepared" in p.get_data(as_text=True) for p in pages)
    shown = _shown(client, f"{WEIGHTING}?lang=en")  # a run made them again, and saved them
    assert _count(shown) == count
    _wait(large)  # the figures are served before the run has saved them and says it is done
    with large.app_context():
        runs = db.session().exec(select(Job).where(Job.kind == "weighting")).all()
    assert len(runs) == 2 and all(r.status == "done" for r in runs)


def test_a_large_survey_s_ranking_is_computed_aside(large, client, accounts):
    accounts.login("researcher")
    _saved(large, client)
    large.config.update(KHAOSAT_ASIDE_WAIT_SECONDS=0.0)  # the request does not wait for it at all
    first = client.get(f"{LEFT_BEHIND}&lang=en")
    assert first.status_code == 200 and first.headers["Retry-After"] == "2"
    assert "Figures being prepared" in first.get_data(as_text=True)
    assert "a few seconds the first time" in first.get_data(as_text=True)
    vi = client.get(f"{LEFT_BEHIND}&lang=vi").get_data(as_text=True)
    assert "Số liệu đang được tính" in vi or "<table" in vi  # (made meanwhile)
    assert "Figures as of" in _shown(client, f"{LEFT_BEHIND}&lang=en")
    made = _built(large, "ranking")
    assert "Figures as of" in client.get(f"{LEFT_BEHIND}&lang=en").get_data(as_text=True)
    assert _built(large, "ranking") == made  # computed once, in its thread
    api = client.get(API.replace("dsi_index", "internet_user"),
                     headers={"Authorization": f"Bearer {accounts.token('researcher')}"})
    assert api.status_code == 202 and api.get_json()["retry_after"] == 2


def test_a_table_computed_within_the_wait_is_answered_at_once(large, client, accounts):
    accounts.login("researcher")
    _saved(large, client)
    large.config.update(KHAOSAT_ASIDE_WAIT_SECONDS=60.0)
    page = client.get(f"{RESULTS.replace('dsi_index', 'internet_user')}&by=sex&lang=en")
    assert page.status_code == 200 and "<table" in page.get_data(as_text=True)


# -- a chart not drawn yet by this worker: drawn aside, the image in the page says so meanwhile ------------------

def test_a_new_worker_draws_the_chart_aside_and_the_image_says_so_meanwhile(large, client, accounts):
    accounts.login("researcher")
    _saved(large, client)
    _new_worker(large)
    large.config.update(KHAOSAT_ASIDE_WAIT_SECONDS=0.0)  # the request never waits
    loading = client.get(f"{WARD_CHART}&lang=vi")  # this worker has not even read the saved weights yet
    assert loading.status_code == 202 and loading.headers["Content-Type"].startswith("image/svg+xml")
    assert "Đang chuẩn bị số liệu" in loading.get_data(as_text=True)
    assert "Tải lại trang sau vài giây để xem biểu đồ." in loading.get_data(as_text=True)
    drawn = _drawn(client, f"{WARD_CHART}&lang=vi")
    assert drawn.headers["Content-Type"] == "image/png" and drawn.data.startswith(b"\x89PNG")
    built = large.extensions["khaosat_cache"].built["derived", "chart"]
    assert client.get(f"{WARD_CHART}&lang=vi").data == drawn.data  # kept: not drawn again
    assert large.extensions["khaosat_cache"].built["derived", "chart"] == built

    by_sex = f"{WARD_CHART}&by=sex&lang=en"  # weights read, this chart not drawn yet
    drawing = client.get(by_sex)
    assert drawing.status_code == 202 and drawing.headers["Retry-After"] == "2"
    svg = drawing.get_data(as_text=True)
    assert "<title>Chart being drawn</title>" in svg and "The table has every value." in svg
    assert _drawn(client, by_sex).headers["Content-Type"] == "image/png"


def test_a_chart_downloaded_while_it_is_drawn_gets_the_page_that_reloads_itself(large, client, accounts):
    accounts.login("researcher")
    _saved(large, client)
    _new_worker(large)
    large.config.update(KHAOSAT_ASIDE_WAIT_SECONDS=0.0)
    download = client.get(f"{WARD_CHART.replace('.png', '.svg')}&by=age_band&download=1&lang=en")
    assert download.status_code == 202 and download.headers["Content-Type"].startswith("text/html")
    html = download.get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in html and "Reload now" in html

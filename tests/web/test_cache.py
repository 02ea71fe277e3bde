"""The app's one cache: designs that requests never change, checked without reading the responses, made
again in the background after new responses (the pages say as of when), at once after an exclusion."""

import os
import time
import uuid

import pandas as pd
import pytest
from sqlalchemy import update
from sqlmodel import select

from analysis import cell_suppression
from tests.conftest import unavailable
from web import create_app, db
from web.cache import AppCache
from web.models import Response, Role, Survey, SurveyVersion, User
from web.models.review import ReviewStatus
from web.research.weighting import current, weighted
from web.review import set_status
from web.tables import data_stamp, responses_changed

pytestmark = pytest.mark.slow  # each test builds and rebuilds weighted designs, some in two workers

SLUG = "digital-skills"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def demo_data(load_demo):
    load_demo(8)  # as ``khaosat demo --per-ward 8`` leaves it (tests/web/test_cli.py runs the command itself)


def _design(app):
    with app.test_request_context():
        return current(db.session(), SLUG, app.config["KHAOSAT_PROVINCE"])


def _fingerprint(frame: pd.DataFrame) -> tuple:
    return tuple(frame.columns), tuple(map(str, frame.dtypes)), int(pd.util.hash_pandas_object(frame.astype(str)).sum())


def _copy_of_a_response(app) -> int:
    """A new response (as a submission stores it), like the first one but for its uuid."""
    with app.app_context():
        session = db.session()
        first = session.exec(select(Response).order_by(Response.id)).first()
        copy = Response(**{k: v for k, v in first.model_dump().items() if k not in ("id", "uuid", "erase_code")},
                        uuid=str(uuid.uuid4()))
        session.add(copy)
        session.commit()
        return copy.id


def test_pages_never_change_the_cached_design(app, client, accounts, demo_data):
    accounts.login("researcher")
    data, pending = _design(app)
    before = _fingerprint(data.frame), _fingerprint(data.design.data)
    ward = int(data.frame["ward_code"].dropna().iloc[0])
    for url in ("/research/digital-skills?indicator=dsi_index&level=ward&by=sex",
                f"/research/digital-skills/ward/{ward}",
                "/research/digital-skills?indicator=education&by=age_band",
                "/research/digital-skills/left-behind?indicator=dsi_index",
                "/research/digital-skills/left-behind?indicator=internet_user&level=former_district",
                "/research/digital-skills/weighting?indicator=dsi_index&by=sex",
                "/research/digital-skills/chart.png?indicator=dsi_index&level=ward"):
        assert client.get(url).status_code == 200, url
    again, _ = _design(app)
    assert again is data and not pending  # the same object, served from the cache
    assert (_fingerprint(again.frame), _fingerprint(again.design.data)) == before
    with pytest.raises(Exception):  # noqa: B017 - frozen: a request cannot swap its parts either
        again.frame = again.frame.head()


def test_one_bounded_cache_cleared_together(app, client, accounts, demo_data):
    accounts.login("researcher")
    assert client.get("/research/digital-skills?indicator=dsi_index&level=ward").status_code == 200
    cache: AppCache = app.extensions["khaosat_cache"]
    kinds = {kind for kind, part in cache._parts.items() if len(part)}
    assert {"instrument", "weighted", "derived"} <= kinds
    assert len(cell_suppression._memo)  # the ward table's protected cells, shared by the process
    cache.clear()
    assert len(cache) == 0 and not len(cell_suppression._memo)  # one call forgets both
    small = AppCache({"weighted": 2})
    for i in range(5):
        small.put("weighted", i, i)
    assert len(small) == 2 and small.get("weighted", 4) == 4 and small.get("weighted", 0) is None


@pytest.mark.both_backends
def test_new_responses_arrive_in_the_background_exclusions_at_once(app, client, accounts, demo_data):
    app.config["WEIGHTS_SYNC_SECONDS"] = 0.0  # every design counts as slow to make
    accounts.login("researcher")
    old, _ = _design(app)
    page = client.get("/research/digital-skills?indicator=dsi_index&lang=en").get_data(as_text=True)
    assert f"from {len(old.frame):,} responses" in page and "Newer responses" not in page

    added = _copy_of_a_response(app)
    page = client.get("/research/digital-skills?indicator=dsi_index&lang=en").get_data(as_text=True)
    assert f"from {len(old.frame):,} responses" in page  # the last complete figures, at once
    assert "Newer responses are being added" in page
    deadline = time.monotonic() + 120
    while added not in set(_design(app)[0].frame["response_id"]):
        assert time.monotonic() < deadline, "the weights were not made again in the background"
        time.sleep(0.2)
    new, pending = _design(app)
    assert len(new.frame) == len(old.frame) + 1 and not pending
    assert new.as_of >= old.as_of

    with app.app_context():  # what the review page does: an admin rejects it
        admin = db.session().exec(select(User).where(User.role == Role.admin.value)).first()
        set_status(db.session(), [added], ReviewStatus.rejected, "too_fast", admin)
    excluded, pending = _design(app)  # an exclusion is never served late
    assert added not in set(excluded.frame["response_id"]) and not pending


@pytest.mark.both_backends
def test_a_bulk_change_is_announced_with_responses_changed(app, demo_data):
    with app.test_request_context():
        session = db.session()
        survey_id = session.exec(select(Survey.id).where(Survey.slug == SLUG)).one()
        before = data_stamp(session, SLUG)
        first = weighted(session, SLUG, 1)
        chosen = [int(i) for i in first.frame["response_id"].iloc[:3]]
        session.exec(update(Response).where(Response.id.in_(chosen)).values(is_excluded=True))
        responses_changed(session, survey_id)
        session.commit()
        after = data_stamp(session, SLUG)
        assert after[0] == before[0] + 1 and after[1] == before[1]  # a change, no new response
        assert not set(chosen) & set(weighted(session, SLUG, 1).frame["response_id"])


@pytest.fixture(params=["database", "redis"])
def shared_by(request, app):
    """Where the workers share their weighted designs: the database, or Redis (a real server)."""
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.RedisError:
            unavailable("Redis at 127.0.0.1:6379")
        app.config["REDIS_URL"] = REDIS_URL  # keys carry a hash of this test's database
    return request.param


def test_a_second_worker_serves_the_first_workers_weights(app, shared_by, demo_data):
    first, _ = _design(app)
    other = create_app({**app.config, "TESTING": True})  # another worker process: its own empty cache
    with other.test_request_context():
        second, pending = current(db.session(), SLUG, other.config["KHAOSAT_PROVINCE"])
    assert not pending and second is not first
    assert second.as_of == first.as_of and second.stamp == first.stamp  # loaded, not made again
    assert second.frame["weight"].to_numpy() == pytest.approx(first.frame["weight"].to_numpy(), rel=1e-12)
    with other.test_request_context():
        mean = second.design.mean("dsi_index", by="ward_code")
    assert mean["se"].to_numpy() == pytest.approx(first.design.mean("dsi_index", by="ward_code")["se"].to_numpy(),
                                                  rel=1e-10)
    with other.app_context():
        db.engine().dispose()


def test_weights_are_shared_with_the_self_selected_responses_kept_apart(app, shared_by, demo_data):
    """A survey with responses from a QR code beside its sample is shared too (both streams, one save)."""
    with app.app_context():
        session = db.session()
        first_row = session.exec(select(Response).join(SurveyVersion).join(Survey).where(Survey.slug == SLUG)
                                 .order_by(Response.id)).first()
        fields = first_row.model_dump(exclude={"id", "uuid", "erase_code", "psu", "stratum", "channel"})
        session.add(Response(**fields, uuid=str(uuid.uuid4()), channel="self"))  # no PSU: the self-selected stream
        session.commit()
    app.extensions["khaosat_cache"].clear()
    first, _ = _design(app)
    assert len(first.nonprobability) >= 1
    other = create_app({**app.config, "TESTING": True})  # another worker process: its own empty cache
    with other.test_request_context():
        second, pending = current(db.session(), SLUG, other.config["KHAOSAT_PROVINCE"])
    assert not pending and second is not first
    assert second.as_of == first.as_of and second.stamp == first.stamp  # loaded, not made again
    assert list(second.nonprobability["response_id"]) == list(first.nonprobability["response_id"])
    assert second.frame["weight"].to_numpy() == pytest.approx(first.frame["weight"].to_numpy(), rel=1e-12)
    with other.app_context():
        db.engine().dispose()

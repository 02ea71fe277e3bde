"""The cell-suppression patterns one worker protects are saved for the others (the database, or Redis): a
worker that has just started shows the same hidden cells without solving a linear program, and a worker over
other counts never takes them."""

from __future__ import annotations

import re

import pytest
import redis
from sqlmodel import select

from analysis import cell_suppression
from tests.web.test_hardening import REDIS_URL
from tests.web.test_weighting_jobs import shared_in
from tests.web.test_weights_prepared import _new_worker as restarted
from web import db
from web.models import WeightSnapshot
from web.shared_state import in_redis, load_json, redis_key, save_json

LEFT_BEHIND = "/research/digital-skills/left-behind?indicator=dsi_index&lang=en"
RESULTS = "/research/digital-skills?indicator=dsi_index&level=ward&by=sex&lang=en"


@pytest.fixture(params=["database", "redis"])
def where(request, app, load_demo):
    load_demo(8)
    yield from shared_in(request.param, app)


def _saved(app) -> dict[str, dict]:
    """The patterns saved for the other workers, by key."""
    with app.app_context():
        session = db.session()
        if in_redis():
            prefix = redis_key(session, "")
            keys = [k.decode().removeprefix(prefix) for k in redis.Redis.from_url(REDIS_URL).scan_iter(
                match=f"{prefix}suppression:*")]
        else:
            keys = session.exec(select(WeightSnapshot.key).where(WeightSnapshot.key.startswith("suppression:"))).all()
        return {key: load_json(session, key) for key in keys}


def _tables(html: str) -> list[str]:
    return re.findall(r"<table.*?</table>", html, re.S)


def _new_worker(app) -> None:
    """A gunicorn worker that has just started (:func:`tests.web.test_weights_prepared._new_worker`), with
    nothing protected in its process memo either."""
    restarted(app)
    cell_suppression.forget()


def _first_views(client) -> dict[str, str]:
    pages = {path: client.get(path).get_data(as_text=True) for path in (LEFT_BEHIND, RESULTS)}
    assert "suppressed (protects small groups)" in pages[RESULTS]  # hidden cells to agree on
    return pages


def test_a_new_worker_shows_the_same_hidden_cells_without_solving(where, client, accounts, solves):
    accounts.login("researcher")
    pages = _first_views(client)
    assert solves  # the first worker protected its tables itself
    saved = _saved(where)
    assert saved and all(value["key"] == key.removeprefix("suppression:") and value["tables"]
                         for key, value in saved.items())
    _new_worker(where)
    solved = len(solves)
    for path, html in pages.items():
        assert _tables(client.get(path).get_data(as_text=True)) == _tables(html), path
    assert len(solves) == solved  # adopted: not one linear program solved again


def test_unreadable_saved_patterns_are_made_again(app, load_demo, client, accounts, solves):
    load_demo(8)
    accounts.login("researcher")
    shown = _tables(client.get(RESULTS).get_data(as_text=True))
    with app.app_context():
        for key, value in _saved(app).items():  # another version's, or damaged
            save_json(db.session(), key, {**value, "tables": [[None, ["no-such-group"], False, [10**6]]]})
    _new_worker(app)
    solved = len(solves)
    again = client.get(RESULTS)
    assert again.status_code == 200 and _tables(again.get_data(as_text=True)) == shown
    assert len(solves) > solved  # protected again here

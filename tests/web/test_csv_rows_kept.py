"""The full microdata CSV made from the rows kept per response (``response_csv``) is byte for byte the file the
present path writes (decoding every response's answers), on a first download (nothing kept yet: the rows
are made and kept), on the next (every row kept), after a correction (the trigger clears that row), after a
change of layout (every row made again) and after an erasure; and a row made before a correction is never
written back over it."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import select

from web import db
from web.models import Response, ResponseCsv, Survey, SurveyVersion
from web.research import downloads, exports, fragments, releases

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL

SLUG = "digital-skills"


@pytest.fixture
def demo_data(load_demo):
    load_demo(8)


def _kept_file(app) -> bytes:
    """The full CSV from the kept rows (small chunks, so kept and made rows mix in one)."""
    with app.test_request_context("/?lang=vi"):
        return b"".join(downloads.release(SLUG, "csv", releases.FULL, chunk_rows=97).csv_blocks())


def _present_file(app) -> bytes:
    """The full CSV by the present path (decoding every response's answers), in the product's chunks."""
    with app.test_request_context("/?lang=vi"):
        made = downloads.release(SLUG, "csv", releases.FULL)
        return b"".join(exports.csv_stream(made.rows(), made.columns))


def _files(app) -> tuple[bytes, bytes]:
    """The full CSV from the kept rows, and by the present path."""
    return _kept_file(app), _present_file(app)


def _keep_every_row(app) -> None:
    """Every row made and kept, as the weighting job does after a run."""
    with app.test_request_context("/?lang=vi"):
        downloads.keep_rows(SLUG)


def _kept_rows(app) -> dict[int, ResponseCsv]:
    with app.app_context():
        return {r.response_id: r for r in db.session().exec(select(ResponseCsv)).all()}


def _responses(app) -> list[Response]:
    with app.app_context():
        return list(db.session().exec(select(Response).join(SurveyVersion).join(Survey).where(
            Survey.slug == SLUG, Response.is_excluded == False).order_by(Response.id)).all())  # noqa: E712


def _correct(app, response_id: int, name: str, value) -> None:
    """A correction as the review page saves one (answers replaced, revision counted)."""
    with app.app_context():
        response = db.session().get(Response, response_id)
        response.answers = {**response.answers, name: value}
        response.revision += 1
        db.session().add(response)
        db.session().commit()


def test_the_kept_rows_give_the_same_file_as_the_present_path(app, demo_data):
    responses = _responses(app)
    kept, present = _files(app)  # nothing kept yet: every row made by the export, and kept
    assert kept == present and kept.count(b"\r\n") >= len(responses) + 1
    rows = _kept_rows(app)
    assert set(rows) >= {r.id for r in responses} and all(rows[r.id].head for r in responses)
    stamp = rows[responses[0].id].stamp

    assert _kept_file(app) == present  # every row from the kept bytes (nothing changed: the same present file)

    target = responses[len(responses) // 2]
    _correct(app, target.id, "birth_year", 1931)  # a new age band too: another weighting cell
    row = _kept_rows(app)[target.id]
    assert row.head is None and row.stamp is None and row.edits == 1  # cleared by the trigger
    kept, present = _files(app)
    assert kept == present
    frame = pd.read_csv(pd.io.common.BytesIO(kept), encoding="utf-8-sig")
    assert frame.set_index("id").loc[target.id, "birth_year"] == 1931
    assert _kept_rows(app)[target.id].stamp == stamp  # made again and kept

    app.config["KHAOSAT_TIMEZONE"] = "America/Los_Angeles"  # the months responses arrived in move: a new layout
    kept, present = _files(app)
    assert kept == present
    assert {r.stamp for r in _kept_rows(app).values()} == {_kept_rows(app)[target.id].stamp} != {stamp}

    with app.app_context():  # an erasure takes the kept row with it
        db.session().delete(db.session().get(Response, target.id))
        db.session().commit()
    assert target.id not in _kept_rows(app)
    kept, present = _files(app)
    assert kept == present and f"\r\n{target.id},".encode() not in kept


def test_a_row_made_before_a_correction_is_not_kept_after_it(app, demo_data):
    _keep_every_row(app)
    target = _responses(app)[0]
    seen = _kept_rows(app)[target.id].edits
    _correct(app, target.id, "birth_year", 1950)
    with app.app_context():
        layout = fragments.Layout([], {}, None, "old", db.engine())
        fragments._write_back(layout, [dict(response_id=target.id, edits=seen, stamp="old", head=b"1,", tail=b"\r\n",
                                            stream="probability", sex="1", age_band="60+")])
    assert _kept_rows(app)[target.id].head is None  # the export's write came too late: not kept
    kept, present = _files(app)
    assert kept == present


def test_a_bulk_update_in_sql_clears_the_kept_rows(app, demo_data):
    _keep_every_row(app)
    with app.app_context():
        db.session().connection().exec_driver_sql("UPDATE responses SET channel = 'self'")
        db.session().commit()
        left = db.session().exec(select(func.count()).select_from(ResponseCsv).where(
            ResponseCsv.head != None)).one()  # noqa: E711
    assert left == 0 and all(r.edits == 1 for r in _kept_rows(app).values())
    kept, present = _files(app)
    assert kept == present


def test_the_background_run_keeps_every_row_and_the_admins_download_is_the_same_file(app, client, accounts, demo_data):
    with app.test_request_context("/?lang=vi"):
        made = downloads.keep_rows(SLUG)  # what the weighting job does after a run
    responses = _responses(app)
    kept = _kept_rows(app)
    assert made >= len(responses) and all(kept[r.id].head for r in responses)
    with app.test_request_context("/?lang=vi"):
        assert downloads.keep_rows(SLUG) == 0  # nothing missing: nothing made again
    accounts.login("admin")
    with client.get("/research/digital-skills/export-full.csv") as downloaded:  # closed, as a WSGI server does
        assert downloaded.status_code == 200
        body = downloaded.data
    assert body == _present_file(app)

"""A survey served by the database in a test: the in-memory limit lowered under the demo's size, and what the tests of
those pages compare with (the design made in memory, the wards with the most responses)."""

from __future__ import annotations

from sqlmodel import func, select

from tests.web.test_weighting_jobs import _wait
from web import catalog, db
from web.models import Response
from web.research import weighting

SLUG = "digital-skills"


def over_the_limit(app, tmp_path) -> None:
    """Serve the app's surveys from the database: more than 100 responses is over the in-memory limit, and a weighting
    run over 50 is a background job."""
    app.config.update(KHAOSAT_CELLS_IN_DATABASE_THRESHOLD=100, KHAOSAT_WEIGHTING_JOB_THRESHOLD=50,
                      KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))


def served_and_in_memory(app, client, accounts, tmp_path):
    """The survey served by the database once its first run has made its roll-ups (a researcher signed in), and its
    design made in memory to compare with."""
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    client.get(f"/research/{SLUG}?lang=en")
    _wait(app)
    return in_memory(app)


def in_memory(app):
    """The survey's weighted design made in memory."""
    with app.test_request_context():
        return weighting.build(db.session(), SLUG, catalog.survey_provinces(db.session(), SLUG))


def busiest_wards(app) -> list[int]:
    """The wards by their number of responses, most first, read without weighing them in memory."""
    with app.app_context():
        counted = db.session().exec(select(Response.ward_code, func.count()).group_by(Response.ward_code)
                                    .order_by(func.count().desc(), Response.ward_code)).all()
    return [int(code) for code, _ in counted]

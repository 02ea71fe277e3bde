"""The protected microdata files of a survey over the in-memory limit, and its disclosure-risk page, are those of the
design in memory, on SQLite and PostgreSQL: the records read chunk by chunk with the served weights are the design's
rows; the scientific- and public-use files made from them suppress the same values, measure the same risk and carry
the same weights as the files made in memory; and the disclosure-risk page, measured in the background at that size,
shows the same report in the reader's language."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from sqlmodel import delete, select, update

from tests.web.helpers import add_self_selected
from tests.web.over_the_limit import SLUG, over_the_limit, served_and_in_memory
from tests.web.test_cache import _copy_of_a_response
from tests.web.test_jobs import prepare, wait
from tests.web.test_weighting_jobs import _wait
from web import catalog, db
from web.models import Job, Response, WeightSnapshot
from web.research import query, releases, releases_in_database, weight_cells
from web.tables import response_ids

pytestmark = pytest.mark.both_backends  # the records and weights are read in each dialect's own way

MAX_RISK = 0.003  #: below the demo's largest individual risk: the scientific-use file must suppress values


@pytest.fixture
def demo(app, load_demo):
    load_demo(8)
    app.config["SCIENTIFIC_MAX_RISK"] = MAX_RISK


PATHS = {"scientific": "export", "public": "export-public"}


def _file(client, headers, tier: str) -> pd.DataFrame:
    """A protected CSV file downloaded directly, as :func:`_table` reads it."""
    answer = client.get(f"/research/{SLUG}/{PATHS[tier]}.csv?lang=en", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return _table(answer.data)


def _prepared(client, tier: str) -> pd.DataFrame:
    """A protected CSV file prepared in the background (the downloads page's "Prepare"), as :func:`_table` reads it."""
    status = wait(client, prepare(client, "csv", tier, lang="en"), seconds=120)
    assert status["status"] == "done", status
    return _table(client.get(status["file_url"]).data)


def _table(data: bytes) -> pd.DataFrame:
    """A protected CSV file as a table, its rows in an order that does not depend on the random release numbers."""
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    assert sorted(frame["id"]) == list(range(1, len(frame) + 1))  # release numbers
    rest = [c for c in frame.columns if c != "id"]
    return frame[rest].sort_values(rest, na_position="last").reset_index(drop=True)


def _forget_design(app) -> None:
    """Forget the design made in memory for a page or file below the limit (cached and saved): a survey over the limit
    has none."""
    app.extensions["khaosat_cache"].clear()
    with app.app_context():
        db.session().exec(delete(WeightSnapshot))
        db.session().commit()


def _same_release(memory: releases.Release, made: releases.Release) -> None:
    assert made.area_level == memory.area_level and made.keys == memory.keys
    assert made.suppressed == memory.suppressed and made.blanks == memory.blanks
    assert sorted(made.release_ids) == sorted(memory.release_ids)
    for before, after in ((memory.before, made.before), (memory.after, made.after)):
        mine, theirs = before.as_dict(), after.as_dict()
        for name in ("records", "sample_uniques", "below_k", "above_threshold"):
            assert theirs[name] == mine[name], name
        for name in ("expected_reidentifications", "global_risk", "max_risk"):
            assert theirs[name] == pytest.approx(mine[name], rel=1e-9), name
    if memory.weights is not None:
        assert made.weights.keys() == memory.weights.keys()
        assert [made.weights[i] for i in memory.weights] == pytest.approx(list(memory.weights.values()), rel=1e-9)


def test_the_protected_releases_of_a_large_survey_are_the_design_in_memorys(app, client, accounts, demo, tmp_path):
    """The records read from the database are the design's rows, in its order, with its weights; both protected
    releases made from them equal those made from the design in memory, value by value."""
    data = served_and_in_memory(app, client, accounts, tmp_path)
    with app.test_request_context():
        session = db.session()
        provinces = catalog.survey_provinces(session, SLUG)
        instrument = query.load_instrument(SLUG)
        cells = weight_cells.served(session, SLUG, provinces)
        frame, apart = releases_in_database.records(session, SLUG, provinces, instrument, cells)
        ids = [i for i in response_ids(session, SLUG) if i not in apart]
        assert frame["response_id"].tolist() == data.frame["response_id"].tolist()
        assert frame["weight"].to_numpy() == pytest.approx(data.frame["weight"].to_numpy(), rel=1e-9)
        for name in ("ward_code", "former_district", *releases.QUASI_IDENTIFIERS):
            if name in data.frame:
                assert frame[name].tolist() == data.frame[name].tolist(), name
        for tier in (releases.SCIENTIFIC, releases.PUBLIC):
            made = releases.protect(frame, instrument, tier, ids)
            memory = releases.protect(data.frame, instrument, tier, ids)
            _same_release(memory, made)
        scientific = releases.protect(frame, instrument, releases.SCIENTIFIC, ids)
    assert sum(scientific.suppressed.values()) > 0 and scientific.after.max_risk <= MAX_RISK < scientific.before.max_risk


def test_the_protected_files_of_a_large_survey_are_those_made_in_memory(app, client, accounts, demo, tmp_path):
    """The scientific- and public-use files downloaded over the limit hold the rows of the files made in memory
    (release numbers aside), suppressed values and weights included; they are prepared in the background (a script's
    direct download is refused with why, in every language). Self-selected responses (QR posters), some without a ward, are left out of both alike."""
    assert add_self_selected(app) > 100
    with app.app_context():
        session = db.session()
        session.exec(update(Response).where(Response.uuid.like("qr-%"), Response.id % 5 == 0).values(ward_code=None))
        session.commit()
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    small = {tier: _file(client, headers, tier) for tier in ("scientific", "public")}
    with app.app_context():
        kept = set(response_ids(db.session(), SLUG))
        sampled = set(db.session().exec(select(Response.id).where(Response.psu.is_not(None))).all())
        apart = set(db.session().exec(select(Response.id).where(Response.psu.is_(None),
                                                                Response.ward_code.is_(None))).all())
    assert len(small["scientific"]) == len(kept & sampled) and kept & apart  # the self-selected, ward or not, left out
    _forget_design(app)
    served_and_in_memory(app, client, accounts, tmp_path)
    for path in PATHS.values():  # a script's direct download would outlast the server's request timeout
        refused = client.get(f"/research/{SLUG}/{path}.csv", headers=headers)
        assert refused.status_code == 409 and "downloads page" in str(refused.get_json())
        assert "trang tải dữ liệu" in str(refused.get_json())
    for tier, memory in small.items():
        made = _prepared(client, tier)
        assert list(made.columns) == list(memory.columns) and len(made) == len(memory)
        numbers = made.select_dtypes("number").columns
        pd.testing.assert_frame_equal(made.drop(columns=numbers), memory.drop(columns=numbers))
        pd.testing.assert_frame_equal(made[numbers], memory[numbers], rtol=1e-9)
    assert small["scientific"]["ethnicity"].isna().sum() > 0  # values suppressed, in both alike


def _wait_for_disclosure(app, seconds: float = 120) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session().exec(select(Job).where(Job.kind == releases_in_database.KIND)
                                    .order_by(Job.created_at.desc())).first()
        if job is not None and job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError("the disclosure job did not finish")


def test_the_disclosure_page_of_a_large_survey_is_measured_in_the_background(app, client, accounts, demo, tmp_path):
    """Over the limit the disclosure-risk page queues one job and says the risk is being measured (in both
    languages); then it shows the report of the design in memory, labelled with its time; a new response makes the
    page serve that report, labelled, while one new measurement is made."""
    accounts.login("researcher")
    memory = client.get(f"/research/{SLUG}/disclosure?lang=en").get_data(as_text=True)
    _forget_design(app)
    over_the_limit(app, tmp_path)
    client.get(f"/research/{SLUG}?lang=en")  # the weighting run that makes its figures in the database
    _wait(app)
    first = client.get(f"/research/{SLUG}/disclosure?lang=en")
    text = first.get_data(as_text=True)
    assert first.status_code == 200 and "The disclosure risk is being measured" in text
    vi = client.get(f"/research/{SLUG}/disclosure?lang=vi").get_data(as_text=True)
    assert "Rủi ro nhận diện đang được đo" in vi
    with app.app_context():
        assert len(db.session().exec(select(Job).where(Job.kind == releases_in_database.KIND)).all()) == 1
    assert _wait_for_disclosure(app).status == "done"
    page = client.get(f"/research/{SLUG}/disclosure?lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Figures as of" in text
    table = lambda html: html[html.index("<table>"):html.rindex("</table>")]  # noqa: E731
    assert table(text) == table(memory)  # every measure before and after, of both files
    assert text.count("Values suppressed (set to missing)") == 2
    assert "Newer responses" not in text
    vi = client.get(f"/research/{SLUG}/disclosure?lang=vi").get_data(as_text=True)
    assert "Tệp dùng cho nghiên cứu" in vi and "Số lần nhận diện lại dự kiến" in vi

    _copy_of_a_response(app)  # fieldwork goes on: the last report is shown, labelled, while the next is measured
    later = client.get(f"/research/{SLUG}/disclosure?lang=en").get_data(as_text=True)
    assert table(later) == table(memory) and "Newer responses are being added" in later
    assert _wait(app).status == "done"  # the weighting run that page queued, adding the new response to the weights
    for _ in range(2):  # then one measurement of those weights, however often the page is asked for meanwhile
        client.get(f"/research/{SLUG}/disclosure?lang=en")
    with app.app_context():
        assert len(db.session().exec(select(Job).where(Job.kind == releases_in_database.KIND)).all()) == 2
    assert _wait_for_disclosure(app).status == "done"
    assert "Newer responses" not in client.get(f"/research/{SLUG}/disclosure?lang=en").get_data(as_text=True)


def _disclosure_jobs(app) -> int:
    with app.app_context():
        return len(db.session().exec(select(Job).where(Job.kind == releases_in_database.KIND)).all())


def test_a_lost_report_is_measured_again_and_a_failed_measurement_says_so(app, client, accounts, demo, tmp_path):
    """A report gone from the shared store (Redis forgets what it keeps after a while) is measured again, not waited
    for: the page said "being measured" for ever. A measurement that failed is said in the reader's language, with a
    link to measure again, and is not queued again by the page itself (whose meta refresh would start one every few
    seconds)."""
    served_and_in_memory(app, client, accounts, tmp_path)
    client.get(f"/research/{SLUG}/disclosure?lang=en")
    assert _wait_for_disclosure(app).status == "done"
    with app.app_context():
        db.session().exec(delete(WeightSnapshot).where(WeightSnapshot.key.like("%:disclosure")))
        db.session().commit()
    again = client.get(f"/research/{SLUG}/disclosure?lang=en").get_data(as_text=True)
    assert "The disclosure risk is being measured" in again and _disclosure_jobs(app) == 2
    assert _wait_for_disclosure(app).status == "done"
    assert "Figures as of" in client.get(f"/research/{SLUG}/disclosure?lang=en").get_data(as_text=True)

    with app.app_context():  # the last measurement failed, and left no report
        session = db.session()
        session.exec(delete(WeightSnapshot).where(WeightSnapshot.key.like("%:disclosure")))
        job = session.exec(select(Job).where(Job.kind == releases_in_database.KIND).order_by(Job.created_at.desc())).first()
        job.status = "failed"
        session.add(job)
        session.commit()
    for lang, said in (("en", "could not be measured"), ("vi", "Không đo được rủi ro nhận diện")):
        page = client.get(f"/research/{SLUG}/disclosure?lang={lang}")
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and said in text and "again=1" in text and "<table>" not in text
    hostile = client.get(f"/research/{SLUG}/disclosure?lang=en&again=%3Cscript%3E")  # only again=1 measures again
    assert hostile.status_code == 200 and "could not be measured" in hostile.get_data(as_text=True)
    assert "<script>" not in hostile.get_data(as_text=True)
    assert _disclosure_jobs(app) == 2  # none queued by the page itself
    measuring = client.get(f"/research/{SLUG}/disclosure?lang=en&again=1").get_data(as_text=True)
    assert "The disclosure risk is being measured" in measuring and _disclosure_jobs(app) == 3
    assert _wait_for_disclosure(app).status == "done"
    assert "Figures as of" in client.get(f"/research/{SLUG}/disclosure?lang=en").get_data(as_text=True)

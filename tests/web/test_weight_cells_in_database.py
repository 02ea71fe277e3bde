"""The weighting cells of a survey made by the database (one GROUP BY, :mod:`web.research.cross_table`), without
its responses in memory, are those of the weighted design made in memory, on SQLite and PostgreSQL: raked to ward
margins, to province margins (the national demo), with trimming that binds, with interviews whose weight is
adjusted for non-response (each a cell of its own), and with base weights only (no margins); and every row's weight
in the full CSV of a survey over ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` is the design's."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import func, update
from sqlmodel import select

from tests.web.over_the_limit import over_the_limit
from tests.web.test_national import national  # noqa: F401 - the national demo fixture
from tests.web.test_weighting_jobs import _wait
from web import catalog, db, jobs, national_demo
from web.models import Job, PopulationMargin, Response, ResponseCsv, SampledHousehold, User
from web.research import raking, snapshots, weight_cells, weighting
from web.research.weight_cells import KEY, Cells
from web.tables import response_count

pytestmark = pytest.mark.both_backends  # the GROUP BY reads JSON and dates in each dialect's own way

SLUG = "digital-skills"


def _both(app, slug: str = SLUG) -> tuple[weighting.Weighted, Cells, Cells]:
    """The design made in memory, its cells, and the cells made by the database."""
    with app.test_request_context():
        session = db.session()
        provinces = catalog.survey_provinces(session, slug)
        data = weighting.build(session, slug, provinces)
        made = weight_cells.of_cross_table(session, slug, provinces, weighting.data_stamp_of(session, slug, provinces))
    return data, weight_cells.of_design(data), made


def _same(design: Cells, made: Cells) -> None:
    joined = design.table.merge(made.table, on=KEY, how="outer", indicator=True)
    assert (joined["_merge"] == "both").all() and len(joined) == len(design.table) == len(made.table)
    assert joined["weight_y"].to_numpy() == pytest.approx(joined["weight_x"].to_numpy(), rel=1e-9)
    assert sorted(made.single) == sorted(design.single)
    assert [made.single[i] for i in sorted(made.single)] == pytest.approx(
        [design.single[i] for i in sorted(design.single)], rel=1e-9)
    assert made.newest == design.newest


def _every_weight(data: weighting.Weighted, cells: Cells) -> None:
    """Each response of the design gets its own final weight from the cells."""
    frame = data.frame.assign(weight=data.frame["base_weight"])  # the responses of their own are found by id
    assert cells.weights(frame).to_numpy() == pytest.approx(data.frame["weight"].to_numpy(), rel=1e-9)


def test_cells_raked_to_ward_margins_are_the_designs(app, load_demo):
    load_demo(16)
    data, design, made = _both(app)
    assert data.method == "raked" and data.margins_level == "ward" and len(data.frame) > 1500
    assert 100 < len(made.table) < len(data.frame) and not made.single
    _same(design, made)
    _every_weight(data, made)


def test_cells_are_the_designs_when_trimming_binds(app, load_demo):
    """Every 7th response weighs 60 times its ward's others: the raked weights pass 5 x the median, are trimmed
    and raked again (the median and the trimming of the cells count each cell's respondents)."""
    load_demo(8)
    with app.app_context():
        session = db.session()
        session.exec(update(Response).where(Response.id % 7 == 0).values(base_weight=Response.base_weight * 60))
        session.commit()
    data, design, made = _both(app)
    steps = data.diagnostics.set_index("step")
    median = float(pd.Series(data.frame["weight"]).median())
    assert steps.loc["raked", "max"] > raking.TRIM_RATIO * median * 1.5 > steps.loc["trimmed", "max"]
    _same(design, made)


def test_cells_raked_to_province_margins_are_the_designs(national):  # noqa: F811
    data, design, made = _both(national, national_demo.SLUG)
    assert data.method == "raked" and data.margins_level == "province"
    _same(design, made)
    _every_weight(data, made)


def test_interviews_adjusted_for_non_response_are_cells_of_their_own(app, load_demo):
    """The demo's drawn households linked to interviews of their wards: their weights are raised for the households
    of their class that gave none, so each is listed by its response id, with the design's weight."""
    load_demo(8)
    with app.app_context():
        session = db.session()
        households = session.exec(select(SampledHousehold).order_by(SampledHousehold.id)).all()
        for household in households[::3]:
            response = session.exec(select(Response).where(Response.ward_code == household.ward_code,
                                                           Response.psu.is_not(None)).offset(household.id % 5)).first()
            if response is not None and not session.exec(select(SampledHousehold).where(
                    SampledHousehold.response_uuid == response.uuid)).first():
                household.response_uuid, household.final_code = response.uuid, "1.1"
                session.add(household)
                session.flush()
        session.commit()
    data, design, made = _both(app)
    assert len(design.single) == (data.frame["nonresponse_factor"] != 1).sum() >= 2
    _same(design, made)
    _every_weight(data, made)


def test_without_margins_the_cells_keep_the_base_weights(app, load_demo):
    load_demo(8)
    with app.app_context():
        session = db.session()
        for margin in session.exec(select(PopulationMargin)).all():
            session.delete(margin)
        session.commit()
    data, design, made = _both(app)
    assert data.method == "base" and data.problem.code == "calibration.no_margins"
    _same(design, made)


def test_a_large_surveys_file_has_the_designs_weights_from_cells_made_in_the_database(app, load_demo, client,
                                                                                          accounts):
    load_demo(8)
    app.config.update(KHAOSAT_CELLS_IN_DATABASE_THRESHOLD=100)
    accounts.login("admin")
    answer = client.get(f"/research/{SLUG}/export-full.csv?lang=vi")
    assert answer.status_code == 200
    frame = pd.read_csv(io.BytesIO(answer.data), encoding="utf-8-sig")
    with app.test_request_context():
        session = db.session()
        provinces = catalog.survey_provinces(session, SLUG)
        saved = snapshots.meta(session, f"{weighting.snapshot_key(SLUG, provinces)}:cells")
        assert saved is not None and saved["stamp"][1] == weighting.data_stamp_of(session, SLUG, provinces).newest
        assert snapshots.meta(session, weighting.snapshot_key(SLUG, provinces)) is None  # no design was made
        data = weighting.build(session, SLUG, provinces)
    served = data.frame.set_index("response_id")["weight"]
    official = frame["stream"] == "probability"
    weights = frame[official].set_index("id")["weight"]
    assert sorted(weights.index) == sorted(served.index)
    assert weights.loc[served.index].to_numpy() == pytest.approx(served.to_numpy(), rel=1e-9)
    assert frame.loc[~official, "weight"].isna().all()


def test_a_large_surveys_weighting_run_makes_only_the_cells_and_the_kept_rows(app, load_demo, tmp_path):
    load_demo(8)
    app.config.update(KHAOSAT_CELLS_IN_DATABASE_THRESHOLD=100, KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    with app.test_request_context():
        session = db.session()
        provinces = catalog.survey_provinces(session, SLUG)
        admin = session.exec(select(User).where(User.role == "admin")).first()
        jobs.submit("weighting", {"slug": SLUG, "provinces": list(provinces), "lang": "vi"}, admin, "weighting")
    job = _wait(app)
    with app.test_request_context():
        session = db.session()
        total = response_count(session, SLUG)
        saved = snapshots.meta(session, f"{weighting.snapshot_key(SLUG, provinces)}:cells")
        assert job.status == "done" and job.total_rows == job.done_rows == total
        assert saved["stamp"][1] == weighting.data_stamp_of(session, SLUG, provinces).newest
        assert snapshots.meta(session, weighting.snapshot_key(SLUG, provinces)) is None  # no design in memory
        assert session.exec(select(func.count()).select_from(ResponseCsv)).one() == total


def test_a_survey_too_large_for_its_design_in_memory_says_so_and_queues_no_run(app, load_demo, client, accounts,
                                                                                tmp_path):
    """Over the threshold what the database does not compute (the API's two streams side by side) answers 409 and
    why, in the reader's language, and queues no weighting run (before, every visit queued a run that made only the
    cells, and the page said "being prepared" for ever); the results, small-area, weighting and rounds pages and the
    API, whose figures the database computes (tests/web/test_estimates_in_database.py), queue the one run; the full
    data file is still downloaded, with its weights."""
    load_demo(8)
    over_the_limit(app, tmp_path)
    accounts.login("researcher")
    for _ in range(2):
        en = client.get(f"/api/v1/results/{SLUG}?indicator=dsi_index&streams=both&lang=en")
        said = str(en.get_json())  # the reason in every language
        assert en.status_code == 409 and "more than 100 responses" in said
        assert "Its results, who-is-left-behind, small-area, weighting, rounds and disclosure-risk pages show its " \
            "indicators by area and group" in said and "the two streams side by side are not offered" in said
        assert "KHAOSAT_" not in said  # the README names the setting; the answer does not
    vi = client.get(f"/api/v1/results/{SLUG}?indicator=dsi_index&streams=both&lang=vi")
    assert vi.status_code == 409 and "Khảo sát này có hơn 100 phiếu trả lời" in str(vi.get_json())
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(Job)).one() == 0
    assert client.get(f"/api/v1/results/{SLUG}?indicator=dsi_index").status_code == 202
    assert client.get(f"/api/v1/results/{SLUG}?indicator=dsi_index&estimator=fh").status_code == 202
    for page in ("", "/small-area", "/weighting", "/rounds"):
        results = client.get(f"/research/{SLUG}{page}?lang=vi")
        assert results.status_code == 200 and "chuẩn bị" in results.get_data(as_text=True)
    with app.app_context():
        assert db.session().exec(select(func.count()).select_from(Job)).one() == 1  # the one run makes both
    assert _wait(app).status == "done"
    accounts.login("admin")
    answer = client.get(f"/research/{SLUG}/export-full.csv?lang=vi")
    assert answer.status_code == 200
    assert pd.read_csv(io.BytesIO(answer.data), encoding="utf-8-sig")["weight"].notna().any()

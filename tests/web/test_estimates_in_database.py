"""A survey too large for its design in memory is estimated by the database (:mod:`web.research.in_database`):
its served weights joined to its responses give the rows of the design made in memory, and every estimate the
results pages make (a share by ward, by province, by sex and age band; a score) is that design's, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text, update

from tests.web.test_weighting_jobs import _wait
from web import catalog, db
from web.models import Response
from web.research import downloads, in_database, weight_cells, weighting

pytestmark = pytest.mark.both_backends  # the join reads JSON in each dialect's own way

SLUG = "digital-skills"


def _made(app):
    """The design made in memory, the design the database estimates with (cells published, rows kept), and its
    rows."""
    with app.test_request_context():
        session = db.session()
        provinces = catalog.survey_provinces(session, SLUG)
        data = weighting.build(session, SLUG, provinces)
        stamp = weighting.data_stamp_of(session, SLUG, provinces)
        cells = weight_cells.of_cross_table(session, SLUG, provinces, stamp)
        key = weighting.snapshot_key(SLUG, provinces)
        in_database.publish(session, key, cells)
        session.commit()
        downloads.keep_rows(SLUG)
        assert in_database.stale_rows(session, SLUG, stamp.newest) == 0
        served = in_database.design(session, SLUG, key, stamp.newest, ["at_least_basic", "dsi_index"])
        rows = pd.read_sql_query(text(served.relation), session.connection())
    return data, served, rows


def test_the_database_gives_every_response_of_the_design_its_weight_and_groups(app, load_demo):
    load_demo(8)
    data, _, rows = _made(app)
    assert data.method == "raked" and len(rows) == len(data.frame) > 900
    memory = data.frame.set_index("response_id").sort_index()
    mine = rows.set_index("response_id").sort_index()
    assert mine.index.tolist() == memory.index.tolist()
    assert mine["weight"].to_numpy() == pytest.approx(memory["weight"].to_numpy(), rel=1e-9)
    for name in ("stratum", "psu", "sex", "age_band"):
        assert mine[name].tolist() == memory[name].astype(object).where(memory[name].notna(), None).tolist(), name
    assert mine["ward_code"].astype("int64").tolist() == memory["ward_code"].astype("int64").tolist()
    assert mine["province_code"].astype("int64").tolist() == memory["province_code"].astype("int64").tolist()
    assert mine["dsi_index"].to_numpy() == pytest.approx(memory["dsi_index"].to_numpy(dtype=float), nan_ok=True)


@pytest.mark.parametrize("by", [["ward_code"], ["province_code"], ["sex", "age_band"], []])
def test_a_share_and_a_score_are_the_designs_in_memory(app, load_demo, by):
    load_demo(8)
    data, served, _ = _made(app)
    for name, kind in (("at_least_basic", "share"), ("dsi_index", "score")):
        if kind == "share":
            memory = data.design.proportion(name, by=by or None, ci_method="logit")
            mine = served.proportion(name, by=by or None, ci_method="logit")
        else:
            memory, mine = data.design.mean(name, by=by or None), served.mean(name, by=by or None)
        keys = [*by, *([name] if kind == "share" else [])]
        for table in (memory, mine):
            for k in keys:
                table[k] = table[k].map(lambda v: weighting.code(v))
        memory = memory.sort_values(keys).reset_index(drop=True) if keys else memory
        mine = mine.sort_values(keys).reset_index(drop=True) if keys else mine
        assert len(mine) == len(memory) > 0
        for column in ("estimate", "se", "ci_low", "ci_high", "n"):
            assert mine[column].to_numpy(dtype=float) == pytest.approx(memory[column].to_numpy(dtype=float),
                                                                       rel=1e-9, abs=1e-12, nan_ok=True), column


def test_the_results_page_of_a_large_survey_comes_from_the_database(app, load_demo, client, accounts, tmp_path):
    """Over the threshold the results page queues the weighting run and says the figures are being prepared; once
    it has run, the page shows the table from the database's roll-up, in the reader's language, with the numbers of
    the design in memory, and the other pages still say why they are not offered."""
    load_demo(8)
    app.config.update(KHAOSAT_CELLS_IN_DATABASE_THRESHOLD=100, KHAOSAT_WEIGHTING_JOB_THRESHOLD=50,
                      KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    accounts.login("researcher")
    first = client.get(f"/research/{SLUG}?lang=en")
    assert first.status_code == 200 and "being prepared" in first.get_data(as_text=True)
    _wait(app)
    page = client.get(f"/research/{SLUG}?indicator=at_least_basic&level=ward&lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert "computed by the database" in text and "Figures as of" in text
    assert '<p class="stream probability"><strong>Probability sample</strong>' in text  # which stream, as in memory
    with app.test_request_context():
        data = weighting.build(db.session(), SLUG, catalog.survey_provinces(db.session(), SLUG))
    memory = data.design.proportion("at_least_basic", by="ward_code", ci_method="logit")
    memory = memory[memory["at_least_basic"] == 1]
    shown = memory.sort_values("n", ascending=False).iloc[0]
    assert f"{shown['estimate'] * 100:.1f}" in text
    vi = client.get(f"/research/{SLUG}?indicator=dsi_index&by=sex&lang=vi")
    assert vi.status_code == 200 and "cơ sở dữ liệu" in vi.get_data(as_text=True)
    assert client.get(f"/research/{SLUG}/weighting?lang=en").status_code == 409
    assert client.get(f"/research/{SLUG}?indicator=dsi_level&lang=en").status_code == 404  # categorical: not here
    for bad in ("level=former_district", "by=education", "by=nope", "level=%3Cscript%3E", "indicator=%27%3B--"):
        assert client.get(f"/research/{SLUG}?{bad}&lang=en").status_code == 404, bad  # not offered at this size


def test_the_api_of_a_large_survey_answers_from_the_database(app, load_demo, client, accounts, tmp_path):
    """``/api/v1/results`` of a survey over the threshold: 202 while its figures are prepared, then the rows of the
    design in memory, said to be computed by the database; what it does not offer at its size is a 422 or a 409."""
    load_demo(8)
    app.config.update(KHAOSAT_CELLS_IN_DATABASE_THRESHOLD=100, KHAOSAT_WEIGHTING_JOB_THRESHOLD=50,
                      KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    accounts.login("researcher")
    assert client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic").status_code == 202
    _wait(app)
    answer = client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic&by=ward")
    body = answer.get_json()
    assert answer.status_code == 200 and body["computed"] == "database" and body["level"] == "ward"
    assert body["weights"] == "raked" and body["stream"] == "probability" and body["as_of"]
    with app.test_request_context():
        data = weighting.build(db.session(), SLUG, catalog.survey_provinces(db.session(), SLUG))
    memory = data.design.proportion("at_least_basic", by="ward_code", ci_method="logit")
    memory = memory[memory["at_least_basic"] == 1].set_index("ward_code")
    shown = [row for row in body["rows"] if row["reliability"] != "suppressed"]
    assert len(shown) > 10
    for row in shown:
        assert row["estimate"] == pytest.approx(memory.loc[row["ward_code"], "estimate"], rel=1e-9)
        assert row["ci_low"] == pytest.approx(memory.loc[row["ward_code"], "ci_low"], rel=1e-9)
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"] and row["ward"]
    assert client.get(f"/api/v1/results/{SLUG}?indicator=nope").status_code == 422
    assert client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic&estimator=fh").status_code == 409


def test_a_large_self_selected_survey_says_so(app, load_demo, client, accounts, tmp_path):
    """Responses with no PSU (QR posters, links) are all a survey has: its figures from the database say they come
    from self-selected responses, not a probability sample, as the page in memory does."""
    load_demo(8)
    with app.app_context():
        session = db.session()
        session.exec(update(Response).values(psu=None))
        session.commit()
    app.config.update(KHAOSAT_CELLS_IN_DATABASE_THRESHOLD=100, KHAOSAT_WEIGHTING_JOB_THRESHOLD=50,
                      KHAOSAT_JOB_DIR=str(tmp_path / "jobs"))
    accounts.login("researcher")
    client.get(f"/research/{SLUG}?lang=en")
    _wait(app)
    text = client.get(f"/research/{SLUG}?indicator=at_least_basic&lang=en").get_data(as_text=True)
    assert '<p class="stream nonprobability"><strong>Self-selected (QR/link), not representative</strong>' in text
    body = client.get(f"/api/v1/results/{SLUG}?indicator=at_least_basic").get_json()
    assert body["stream"] == "nonprobability" and body["rows"]

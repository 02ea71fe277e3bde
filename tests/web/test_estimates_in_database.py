"""A survey too large for its design in memory is estimated by the database (:mod:`web.research.in_database`):
its served weights joined to its responses give the rows of the design made in memory, and every estimate the
results pages make (a share by ward, by province, by sex and age band; a score) is that design's, on SQLite and
PostgreSQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

from web import catalog, db
from web.models import SampledHousehold, Response
from web.research import downloads, in_database, weight_cells, weighting

pytestmark = pytest.mark.both_backends  # the join reads JSON in each dialect's own way

SLUG = "digital-skills"


def _made(app):
    """The design made in memory, and the design the database estimates with (cells published, rows kept)."""
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
        names = ["at_least_basic", "dsi_index", "internet_user"]
        served = in_database.design(session, SLUG, key, stamp.newest, names)
        rows = in_database.frame(session, served.relation)
    return data, served, rows


def test_the_database_gives_every_response_of_the_design_its_weight(app, load_demo):
    load_demo(8)
    data, _, rows = _made(app)
    assert data.method == "raked" and len(rows) == len(data.frame) > 900
    memory = data.frame.set_index(["stratum", "psu", "ward_code"]).sort_index()
    mine = rows.assign(ward_code=rows["ward_code"].astype("int64")).set_index(
        ["stratum", "psu", "ward_code"]).sort_index()
    assert mine["weight"].to_numpy() == pytest.approx(memory["weight"].to_numpy(), rel=1e-9)
    assert sorted(mine["weight"].round(6)) == sorted(memory["weight"].round(6))
    for name in ("sex", "age_band"):
        assert mine[name].fillna("").tolist() == memory[name].fillna("").astype(str).tolist() or \
            sorted(mine[name].fillna("")) == sorted(memory[name].fillna("").astype(str))
    assert (mine["province_code"].astype("int64") == memory["province_code"].astype("int64")).all()


@pytest.mark.parametrize("by", [["ward_code"], ["province_code"], ["sex", "age_band"], []])
def test_a_share_and_a_score_are_the_designs_in_memory(app, load_demo, by):
    load_demo(8)
    data, served, _ = _made(app)
    frame = data.design.data
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
    assert frame is not None

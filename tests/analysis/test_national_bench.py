"""``bench/national.py`` scaled down to 200,000 rows (what CI runs; the figures come from 10,000,000):
the COPY load holds every row, and the raked estimates it times, pushed down to PostgreSQL, are those
of the in-memory ``SurveyDesign.rake`` on the same rows, by province and by commune; the served ones,
read from the roll-up, are those pushed down to the rows. Checks numbers, never time."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import sqlalchemy

from analysis import SurveyDesign
from bench.national import SETTINGS, build_rollup, design, load, margins, served
from tests.conftest import unavailable, unique

pytestmark = pytest.mark.postgres
ROWS = 200_000


@pytest.fixture(scope="module")
def national():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    table = unique("national_bench")
    geo = load(url, ROWS, table=table)
    engine = sqlalchemy.create_engine(url, connect_args={"options": SETTINGS})
    with engine.connect() as conn:
        rows = pd.read_sql(sqlalchemy.text(f"SELECT * FROM {table}"), conn)
    yield engine, table, geo, rows
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f"DROP TABLE {table}"))
        for name in (f"{table}_rollup", f"{table}_rollup__about"):
            conn.execute(sqlalchemy.text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


def _memory(rows: pd.DataFrame, geo: pd.DataFrame) -> SurveyDesign:
    plain = SurveyDesign(rows, weights="weight", strata="stratum", psu="psu", lonely_psu="adjust")
    return plain.rake(margins(geo), max_iter=50)


def test_the_load_has_every_row_commune_and_stratum(national) -> None:
    _, _, geo, rows = national
    assert len(rows) == ROWS
    assert rows["province"].nunique() == 34
    assert rows["commune"].nunique() == (geo["n"] > 0).sum() > 3_250
    assert rows["stratum"].nunique() == geo.loc[geo["n"] > 0, "stratum"].nunique() > 60
    assert 0.01 < rows["score"].isna().mean() < 0.03


def test_raked_means_by_province_match_memory(national) -> None:
    engine, table, geo, rows = national
    got = design(engine, geo, table).mean("score", by="province")
    want = _memory(rows, geo).mean("score", by="province")
    assert len(got) == 34
    for col in ("estimate", "se", "deff"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-8, err_msg=col)
    pop = pd.Series(margins(geo)[("province", "sex")]).groupby(level=0).sum()
    raked = _memory(rows, geo).weights
    np.testing.assert_allclose(pd.Series(raked).groupby(rows["province"]).sum(), pop.sort_index(), rtol=1e-6)


def test_raked_means_by_commune_match_memory(national) -> None:
    """Three communes' rows of the 3,321 (a domain's estimate and SE do not depend on how the other
    rows are split, so the in-memory side estimates "this commune or not")."""
    engine, table, geo, rows = national
    got = design(engine, geo, table).mean("score", by="commune").set_index("commune")
    assert len(got) == rows["commune"].nunique()
    for commune in rows["commune"].drop_duplicates().sample(3, random_state=1):
        flagged = rows.assign(this=np.where(rows["commune"] == commune, "yes", "no"))
        want = _memory(flagged, geo).mean("score", by="this").set_index("this").loc["yes"]
        for col in ("estimate", "se"):
            np.testing.assert_allclose(got.loc[commune, col], want[col], rtol=1e-8, atol=1e-12, err_msg=col)


def test_served_from_the_rollup_equals_the_rows(national) -> None:
    engine, table, geo, rows = national
    rollup = build_rollup(engine, table)
    assert rollup.rows == ROWS and rollup.groups < ROWS / 4
    fast, direct = served(engine, geo, rollup, table), design(engine, geo, table)
    for by in ("province", "commune"):
        got, want = fast.mean("score", by=by).sort_values(by), direct.mean("score", by=by).sort_values(by)
        np.testing.assert_array_equal(got[by], want[by])
        np.testing.assert_array_equal(got["n"], want["n"])
        for col in ("estimate", "se"):
            np.testing.assert_allclose(got[col], want[col], rtol=1e-10, err_msg=f"{by} {col}")

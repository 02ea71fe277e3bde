"""``SurveyDesign.from_sql`` on real PostgreSQL gives the in-memory numbers (relative 1e-9)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import sqlalchemy
from rref import dataset

from analysis import SurveyDesign
from tests.conftest import unavailable, unique

pytestmark = pytest.mark.postgres
URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="module")
def engine():
    if not URL:
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    eng = sqlalchemy.create_engine(URL)
    tables = {TABLES[name]: name for name in ("apistrat", "apiclus2")}
    for table, name in tables.items():
        dataset(name).to_sql(table, eng, if_exists="replace", index=False)
    yield eng
    with eng.begin() as conn:
        for table in tables:
            conn.execute(sqlalchemy.text(f'DROP TABLE IF EXISTS "{table}"'))
    eng.dispose()


TABLES = {name: unique(f"analysis_test_{name}") for name in ("apistrat", "apiclus2")}  # one per run
DESIGNS = {
    "strat": (TABLES["apistrat"], "apistrat", {"weights": "pw", "strata": "stype", "psu": "snum", "fpc": "fpc"}),
    "clus2": (TABLES["apiclus2"], "apiclus2", {"weights": "pw", "psu": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]}),
}


def _compare(got, want, keys):
    got, want = got.sort_values(keys).reset_index(drop=True), want.sort_values(keys).reset_index(drop=True)
    for col in ("estimate", "se", "deff"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, err_msg=col)
    np.testing.assert_array_equal(got["n"], want["n"])


@pytest.mark.parametrize("name", list(DESIGNS))
@pytest.mark.parametrize("by", [None, "sch.wide", ["stype", "sch.wide"]])
def test_sql_matches_memory(engine, name, by) -> None:
    table, data, spec = DESIGNS[name]
    sql = SurveyDesign.from_sql(engine, table, **spec)
    mem = SurveyDesign(dataset(data), **spec)
    keys = [by] if isinstance(by, str) else list(by or [])
    _compare(sql.mean("api00", by=by), mem.mean("api00", by=by), keys or ["estimate"])
    _compare(sql.total("enroll", by=by), mem.total("enroll", by=by), keys or ["estimate"])
    _compare(sql.ratio("api00", "api99", by=by), mem.ratio("api00", "api99", by=by), keys or ["estimate"])
    pk = [*keys, "awards"]
    _compare(sql.proportion("awards", by=by), mem.proportion("awards", by=by), pk)


def test_sql_accepts_a_query(engine) -> None:
    sql = SurveyDesign.from_sql(engine, f'SELECT * FROM {TABLES["apistrat"]} WHERE "api00" > 500',
                                weights="pw", strata="stype", psu="snum")
    data = dataset("apistrat")
    mem = SurveyDesign(data[data["api00"] > 500], weights="pw", strata="stype", psu="snum")
    _compare(sql.mean("api00", by="stype"), mem.mean("api00", by="stype"), ["stype"])

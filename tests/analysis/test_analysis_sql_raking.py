"""``SqlDesign.rake``: raked estimates pushed down to SQLite and PostgreSQL give the in-memory
``SurveyDesign.rake`` numbers and R's ``rake`` numbers (relative 1e-8), the standard errors with the
raking residuals, for every estimator, overall and by domain (by province and by commune)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import sqlalchemy
from rref import REFERENCE_DIR, RTOL, dataset, reference

import analysis.cell_raking
import analysis.sql
from analysis import CalibrationError, DesignError, SurveyDesign
from tests.conftest import unavailable, unique

HERE = REFERENCE_DIR / "raking_sql"
DESIGN = {"weights": "w", "strata": "stratum", "psu": "commune"}


def _margins() -> dict:
    margins = pd.read_csv(HERE / "margins.csv", dtype={"level": str})
    out = {}
    for name in ("sex", "age_band"):
        rows = margins[margins["margin"] == name]
        out[("province", name)] = {(p, level): c for p, level, c in zip(rows["province"], rows["level"], rows["count"],
                                                                          strict=True)}
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    if request.param == "postgres":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    else:
        url = f"sqlite:///{tmp_path / 'raking.sqlite'}"
    eng = sqlalchemy.create_engine(url)
    tables = {"sample": unique("raking_sample"), "apiclus1": unique("raking_apiclus1")}
    pd.read_csv(HERE / "sample.csv").to_sql(tables["sample"], eng, index=False)
    dataset("apiclus1").to_sql(tables["apiclus1"], eng, index=False)
    eng.tables = tables
    yield eng
    with eng.begin() as conn:
        for table in tables.values():
            conn.execute(sqlalchemy.text(f'DROP TABLE IF EXISTS "{table}"'))
    eng.dispose()


def _sample() -> pd.DataFrame:
    return pd.read_csv(HERE / "sample.csv")


def _sql(engine):
    return SurveyDesign.from_sql(engine, engine.tables["sample"], **DESIGN).rake(_margins())


def _memory():
    return SurveyDesign(_sample(), **DESIGN).rake(_margins())


def _same(got: pd.DataFrame, want: pd.DataFrame, keys: list[str]) -> None:
    if keys:
        got, want = got.sort_values(keys).reset_index(drop=True), want.sort_values(keys).reset_index(drop=True)
        for k in keys:
            np.testing.assert_array_equal(got[k].astype(str), want[k].astype(str))
    scale = np.abs(want["estimate"]).max()
    informative = want["se"].to_numpy() > 1e-9 * scale  # a variance of rounding noise (a domain = a PSU)
    for col in ("estimate", "se", "ci_low", "ci_high", "deff"):
        rows = informative if col == "deff" else slice(None)
        np.testing.assert_allclose(got[col][rows], want[col][rows], rtol=RTOL, atol=1e-12 * scale, err_msg=col)
    np.testing.assert_array_equal(got["n"], want["n"])


@pytest.mark.parametrize("by", [None, "province", "commune", ["province", "sex"]])
def test_raked_sql_matches_memory(engine, by) -> None:
    sql, mem = _sql(engine), _memory()
    keys = [by] if isinstance(by, str) else list(by or [])
    _same(sql.mean("y", by=by), mem.mean("y", by=by), keys)
    _same(sql.total("y", by=by), mem.total("y", by=by), keys)
    _same(sql.ratio("y", "w", by=by), mem.ratio("y", "w", by=by), keys)
    for method in ("logit", "beta"):
        _same(sql.proportion("used", by=by, ci_method=method), mem.proportion("used", by=by, ci_method=method),
              [*keys, "used"])


def test_raking_residuals_change_the_standard_errors(engine) -> None:
    """The raked standard errors are not those of the raked weights taken as fixed (a test that
    would pass with the base design's variance formula fails here)."""
    sql = _sql(engine).mean("y", by="province")
    frame = _sample()
    weights = _memory().weights
    fixed = SurveyDesign(frame.assign(w=weights), **DESIGN).mean("y", by="province")
    np.testing.assert_allclose(sql["estimate"], fixed["estimate"], rtol=1e-10)
    assert np.all(np.abs(sql["se"] / fixed["se"] - 1) > 1e-3)


def _r_reference() -> pd.DataFrame:
    return pd.read_csv(HERE / "reference.csv", dtype={"key": str}, keep_default_na=False)


@pytest.mark.parametrize("by", ["", "province", "commune"])
def test_raked_sql_matches_r(engine, by) -> None:
    ref = _r_reference()
    ref = ref[ref["by"] == by]
    sql = _sql(engine)
    calls = {"mean": lambda: sql.mean("y", by=by or None), "total": lambda: sql.total("y", by=by or None),
             "ratio": lambda: sql.ratio("y", "w", by=by or None),
             "proportion": lambda: sql.proportion("used", by=by or None)}
    for statistic, call in calls.items():
        want = ref[ref["statistic"] == statistic]
        if want.empty:
            continue
        got = call()
        parts = [got[by].astype(str)] if by else []
        if statistic == "proportion":
            parts.append(got["used"].astype(str))
        got_keys = ["|".join(t) for t in zip(*parts, strict=True)] if parts else [""] * len(got)
        got = got.assign(key=got_keys).set_index("key").loc[want["key"]]
        np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=RTOL, err_msg=statistic)
        np.testing.assert_allclose(got["se"], want["se"], rtol=RTOL, err_msg=statistic)


def test_api_rake_matches_r(engine) -> None:
    """R's own rake of data(api) (``clus1_rake`` in reference.json), pushed down to SQL."""
    op = reference()["weighted"]["clus1_rake"]
    sql = SurveyDesign.from_sql(engine, engine.tables["apiclus1"], weights="pw", psu="dnum", fpc="fpc")
    sql = sql.rake(op["margins"])
    cases = [c for c in reference()["cases"] if c["design"] == "clus1_rake" and c["method"] != "quantile"]
    assert len(cases) >= 10
    for case in cases:
        args = {k: v for k, v in case["args"].items() if v is not None}
        got = getattr(sql, case["method"])(**args)
        want = pd.DataFrame(case["rows"])
        by = args.get("by") or []
        keys = ([by] if isinstance(by, str) else list(by)) + ([args["variable"]] if case["method"] == "proportion"
                                                                else [])
        if keys:
            for k in keys:
                got[k], want[k] = got[k].astype(str), want[k].astype(str)
            got = want[keys].merge(got, on=keys, how="left")
        scale = np.abs(want["estimate"]).max()
        np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=RTOL, err_msg=str(case["args"]))
        np.testing.assert_allclose(got["se"], want["se"], rtol=RTOL, atol=1e-12 * scale, err_msg=str(case["args"]))


def test_many_domains_give_variances_in_column_blocks(engine, monkeypatch) -> None:
    """Past FULL_VCOV_COLUMNS estimates only the variances are made, a block of columns at a time;
    the standard errors do not change (and no covariance matrix is claimed)."""
    monkeypatch.setattr(analysis.sql, "FULL_VCOV_COLUMNS", 5)
    monkeypatch.setattr(analysis.cell_raking, "CHUNK_ENTRIES", 300)
    sql, mem = _sql(engine), _memory()
    got = sql.mean("y", by="commune")
    assert "vcov" not in got.attrs
    _same(got, mem.mean("y", by="commune"), ["commune"])
    _same(sql.proportion("used", by="commune"), mem.proportion("used", by="commune"), ["commune", "used"])
    plain = SurveyDesign.from_sql(engine, engine.tables["sample"], **DESIGN)
    _same(plain.mean("y", by="commune"), SurveyDesign(_sample(), **DESIGN).mean("y", by="commune"), ["commune"])


def test_what_sql_cannot_rake_says_so(engine) -> None:
    plain = SurveyDesign.from_sql(engine, engine.tables["sample"], **DESIGN)
    with pytest.raises(DesignError, match="raked already"):
        plain.rake(_margins()).rake(_margins())
    with pytest.raises(DesignError, match="post-stratify"):
        plain.poststratify("province", {})
    with pytest.raises(DesignError, match="GREG"):
        plain.calibrate({"province": {}})
    with pytest.raises(CalibrationError) as missing:
        plain.rake({**_margins(), "sex": {"1": 1.0}})
    assert missing.value.code == "calibration.no_population"
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'UPDATE "{engine.tables["sample"]}" SET "sex" = NULL WHERE "commune" = \'P01-C0\''))
    with pytest.raises(CalibrationError) as empty:
        plain.rake(_margins())
    assert empty.value.code == "calibration.missing_values"

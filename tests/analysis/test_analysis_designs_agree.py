"""Every estimator and option through the three design classes on the same data (issue 13).

``SurveyDesign`` (in memory), ``SqlDesign`` (the same sums from SQLite, and from PostgreSQL when
``TEST_DATABASE_URL`` is set) and ``ReplicateDesign`` (JK1 built from the same design) must:
have the same signatures (:class:`analysis.protocol.Design`); give the same estimates; give the
same standard errors and intervals between memory and SQL (relative 1e-9); give replicate standard
errors and intervals close to the linearised ones (a jackknife, not the same formula: a total's is
identical, the others agree to within a few percent here); honour every ``ci_method`` (no method
silently replaced by another); and raise :class:`DesignError` for an option they cannot honour.
The data have 0% and 100% cells (stype H has no "high" band and no ``hi``), where every method
must give a non-zero-width interval inside [0, 1].
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pandas as pd
import pytest
import sqlalchemy
from rref import dataset

from analysis import DesignError, ReplicateDesign, SqlDesign, SurveyDesign
from analysis.protocol import ESTIMATORS, Design
from tests.conftest import unavailable, unique

METHODS = ["logit", "beta", "xlogit", "asin", "wald"]
SPEC = {"weights": "pw", "psu": "dnum", "fpc": "fpc"}
TABLE = unique("designs_agree_apiclus1")  # one per run: other runs share the PostgreSQL database


def _data() -> pd.DataFrame:
    data = dataset("apiclus1").copy()
    data["band"] = pd.cut(data["api00"], [0, 600, 750, 1000], labels=["low", "mid", "high"]).astype(str)
    data["hi"] = np.where(data["stype"] == "H", 0, (data["api00"] > 700).astype(int))
    return data[["dnum", "pw", "fpc", "stype", "api00", "api99", "enroll", "band", "hi"]]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def designs(request, tmp_path_factory):
    if request.param == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        unavailable("TEST_DATABASE_URL is not set (PostgreSQL tests)")
    url = (os.environ["TEST_DATABASE_URL"] if request.param == "postgresql"
           else f"sqlite:///{tmp_path_factory.mktemp('designs')}/designs.db")
    engine = sqlalchemy.create_engine(url)
    data = _data()
    data.to_sql(TABLE, engine, if_exists="replace", index=False)
    memory = SurveyDesign(data, **SPEC)
    yield {"memory": memory, "sql": SqlDesign(engine, TABLE, **SPEC), "replicate": ReplicateDesign.from_design(memory)}
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP TABLE IF EXISTS "{TABLE}"'))
    engine.dispose()


CALLS = [("mean", ("api00",), {}), ("total", ("enroll",), {}), ("ratio", ("api00", "api99"), {}),
         *[("proportion", (v,), {"ci_method": m}) for v in ("band", "hi") for m in METHODS],
         ("proportion", ("band",), {"level": 0.9})]


def _keys(method: str, args: tuple, by: str | None) -> list[str]:
    return [*([by] if by else []), *([args[0]] if method == "proportion" else [])]


def _run(design, method: str, args: tuple, kwargs: dict, by: str | None) -> pd.DataFrame:
    out = getattr(design, method)(*args, by=by, **kwargs)
    keys = _keys(method, args, by)
    for k in keys:
        out[k] = out[k].astype(str)
    return out.sort_values(keys).reset_index(drop=True) if keys else out


def test_the_three_classes_share_one_interface() -> None:
    for cls in (SurveyDesign, SqlDesign, ReplicateDesign):
        for name in ESTIMATORS:
            want = inspect.signature(getattr(Design, name)).parameters
            got = inspect.signature(getattr(cls, name)).parameters
            assert list(got) == list(want), (cls.__name__, name)
            assert [p.default for p in got.values()] == [p.default for p in want.values()], (cls.__name__, name)


@pytest.mark.parametrize("by", [None, "stype"])
@pytest.mark.parametrize(("method", "args", "kwargs"), CALLS, ids=[f"{c[0]}-{c[1][0]}-{c[2]}" for c in CALLS])
def test_estimators_agree_across_designs(designs, method, args, kwargs, by) -> None:
    got = {name: _run(des, method, args, kwargs, by) for name, des in designs.items()}
    mem, sql, rep = got["memory"], got["sql"], got["replicate"]
    for name in ("sql", "replicate"):
        assert isinstance(designs[name], Design)
        assert len(got[name]) == len(mem), name
        np.testing.assert_allclose(got[name]["estimate"], mem["estimate"], rtol=1e-10, err_msg=name)
        np.testing.assert_array_equal(got[name]["n"], mem["n"], err_msg=name)
    for col in ("se", "ci_low", "ci_high"):
        np.testing.assert_allclose(sql[col], mem[col], rtol=1e-9, atol=1e-12, err_msg=col)
    if method == "total":
        np.testing.assert_allclose(rep["se"], mem["se"], rtol=1e-9)  # a linear estimator: jackknife = Taylor
    inner = mem["se"] > 0
    np.testing.assert_allclose(rep.loc[inner, "se"], mem.loc[inner, "se"], rtol=0.35)
    width = (mem["ci_high"] - mem["ci_low"]).to_numpy()
    for col in ("ci_low", "ci_high"):
        assert np.all(np.abs(rep[col] - mem[col]) <= 0.35 * width + 1e-12), col
    if method == "proportion":
        for frame in got.values():
            assert frame["ci_method"].nunique() == 1
            assert (frame["ci_high"] > frame["ci_low"]).all()  # never zero-width, not even at 0% or 100%
            edge = frame["estimate"].isin([0.0, 1.0])
            assert ((frame.loc[edge, "ci_low"] >= 0) & (frame.loc[edge, "ci_high"] <= 1)).all()
        if by:
            assert mem["estimate"].isin([0.0, 1.0]).any()  # the data do exercise the boundary rule


@pytest.mark.parametrize("name", ["memory", "sql", "replicate"])
def test_every_ci_method_is_honoured(designs, name) -> None:
    """Each method gives its own interval (nothing silently falls back to Wald)."""
    intervals = {m: designs[name].proportion("band", ci_method=m)[["ci_low", "ci_high"]] for m in METHODS}
    for a in METHODS:
        for b in METHODS:
            if a >= b:
                continue
            if {a, b} == {"logit", "xlogit"} and name != "replicate":  # delta method = svyglm when linearised
                np.testing.assert_allclose(intervals[a], intervals[b], rtol=1e-12)
            else:
                assert not np.allclose(intervals[a], intervals[b], rtol=1e-6), (name, a, b)


@pytest.mark.parametrize("name", ["memory", "sql", "replicate"])
def test_options_a_design_cannot_honour_raise(designs, name) -> None:
    with pytest.raises(DesignError, match=r"ci_method='likelihood'.*'logit', 'beta', 'xlogit', 'asin', 'wald'"):
        designs[name].proportion("band", ci_method="likelihood")
    assert (designs[name].proportion("band", ci_method="mean")["ci_method"] == "wald").all()  # R's name for Wald
    if name == "sql":
        with pytest.raises(DesignError, match="cannot estimate quantiles"):
            designs[name].quantile("api00", 0.5)
    else:
        for rule in ("math", "hf7"):
            got = designs[name].quantile("api00", [0.25, 0.5], by="stype", rule=rule).sort_values(["stype", "q"])
            want = designs["memory"].quantile("api00", [0.25, 0.5], by="stype", rule=rule).sort_values(["stype", "q"])
            np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-12)

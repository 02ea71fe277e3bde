"""Calibrated weights against R, the weighting pipeline and its diagnostics, and error messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rref import RTOL, build_design, dataset, reference

from analysis import CalibrationError, ConvergenceError, DesignError, LonelyPSUError, SurveyDesign
from analysis.weighting import (
    base_weights,
    median_weight,
    trim_weights,
    trimmed_weights,
    weight_diagnostics,
    weighting_pipeline,
)


@pytest.mark.parametrize("name", list(reference()["weights"]))
def test_calibrated_weights_match_r(name: str) -> None:
    np.testing.assert_allclose(build_design(name).weights, reference()["weights"][name], rtol=RTOL)


def test_poststratified_weights_meet_the_population() -> None:
    des = build_design("clus1_ps")
    got = pd.Series(des.weights).groupby(des.data["stype"].to_numpy()).sum()
    np.testing.assert_allclose(got.loc[["E", "H", "M"]], [4421, 755, 1018], rtol=1e-12)


def test_calibration_meets_numeric_and_categorical_totals() -> None:
    des = build_design("clus1_calb")
    g = des.weights / build_design("clus1").weights
    assert g.min() >= 0.7 - 1e-9 and g.max() <= 1.7 + 1e-9
    np.testing.assert_allclose(np.sum(des.weights * des.data["api99"]), 3914069, rtol=1e-7)


def test_lonely_psu_fail_names_the_stratum() -> None:
    with pytest.raises(LonelyPSUError, match=r"Stratum \(L\) has only one PSU"):
        build_design("lonely").mean("api00")


def test_bad_policy_names_the_allowed_values() -> None:
    with pytest.raises(DesignError, match=r"lonely_psu='sometimes'.*'fail', 'remove', 'adjust', 'certainty', 'average'"):
        SurveyDesign(dataset("apistrat"), weights="pw", lonely_psu="sometimes")
    with pytest.raises(DesignError, match=r"ci_method=.likelihood.*.logit., .beta., .xlogit., .asin., .wald."):
        build_design("strat").proportion("awards", ci_method="likelihood")


def test_design_errors_say_what_to_fix() -> None:
    data = dataset("apistrat")
    with pytest.raises(DesignError, match="'wt' is not in the data"):
        SurveyDesign(data, weights="wt")
    with pytest.raises(DesignError, match="not nested in strata"):
        SurveyDesign(data.assign(p=1 + (np.arange(len(data)) % 7)), weights="pw", strata="stype", psu="p")
    with pytest.raises(DesignError, match="only one primary sampling unit"):
        SurveyDesign(data.assign(p=1), weights="pw", psu="p")


def test_rake_errors() -> None:
    des = build_design("clus1")
    with pytest.raises(CalibrationError, match=r"population level\(s\) \[\('X',\)\] have no respondents"):
        des.rake({"stype": {"E": 4421, "H": 755, "M": 1018, "X": 10}})
    with pytest.raises(ConvergenceError, match="did not converge in 1 iterations"):
        des.rake({"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122}},
                 tol=1e-12, max_iter=1)


def test_pipeline_diagnostics() -> None:
    data = dataset("apistrat")
    w = base_weights(data, "stype", {"E": 4421, "H": 755, "M": 1018})
    np.testing.assert_allclose(w, data["pw"], rtol=1e-7)  # R stores pw rounded to single precision
    des = SurveyDesign(data.assign(w0=w), weights="w0", strata="stype", fpc="fpc")
    cells = {(s, y): c for s, y, c in [("E", "No", 500), ("E", "Yes", 3921), ("H", "No", 300), ("H", "Yes", 455),
                                       ("M", "No", 272), ("M", "Yes", 746)]}
    weighted, diag = weighting_pipeline(des, cells=["stype", "sch.wide"], cell_counts=cells, trim_ratio=1.2)
    assert list(diag["step"]) == ["base", "post-stratified", "trimmed"]
    np.testing.assert_allclose(weighted.weights.sum(), 6194, rtol=1e-12)
    assert diag.loc[2, "max"] < diag.loc[1, "max"]
    assert diag.loc[2, "kish_deff"] < diag.loc[1, "kish_deff"]
    d = weight_diagnostics(np.array([1.0, 1.0, 2.0, 4.0]))
    np.testing.assert_allclose(d["kish_deff"], 4 * 22 / 64)
    np.testing.assert_allclose(d["effective_n"], 64 / 22)
    assert (d["min"], d["max"], d["max_min_ratio"]) == (1.0, 4.0, 4.0)
    cells = weight_diagnostics(np.array([1.0, 2.0, 4.0, 9.0]), counts=np.array([2, 1, 1, 0]))  # the same rows
    assert cells == pytest.approx(d, rel=1e-14)


@pytest.mark.parametrize("seed", range(40))
def test_the_median_and_trimming_of_cells_are_those_of_their_rows(seed: int) -> None:
    """A cross-table's cells, each weight standing for ``counts`` rows: the same median and trimmed weights as the
    rows themselves (even and odd numbers of rows, ties, bounds on both sides)."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 9))
    weights = rng.choice([0.5, 1.0, 2.0, 3.0, 10.0, 40.0], size) * rng.uniform(0.5, 2.0, size)
    counts = rng.integers(1, 6, size)
    rows = np.repeat(weights, counts)
    median = median_weight(weights, counts)
    assert median == np.median(rows) == median_weight(rows)
    cells = trimmed_weights(weights, upper=1.5 * median, lower=median / 1.5, counts=counts)
    np.testing.assert_allclose(np.repeat(cells, counts), trimmed_weights(rows, upper=1.5 * median, lower=median / 1.5),
                               rtol=1e-13)


def test_trimming_keeps_the_total_and_the_cap() -> None:
    des = build_design("strat_nofpc")
    trimmed = trim_weights(des, upper=40.0)
    np.testing.assert_allclose(trimmed.weights.sum(), des.weights.sum(), rtol=1e-12)
    assert trimmed.weights.max() <= 40.0 + 1e-9

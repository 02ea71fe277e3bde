"""The left-behind report, the D-index and the circumstance tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rref import RTOL, build_design, reference

from analysis import SurveyDesign
from analysis.inequality import circumstance_tree, dissimilarity_index
from analysis.left_behind import bh_qvalues, left_behind
from analysis.replicate import ReplicateDesign


def test_gap_to_overall_matches_r_contrast() -> None:
    ref = next(t for t in reference()["tests"] if t["design"] == "clus1" and t["method"] == "domain_test")
    out = left_behind(build_design("clus1"), "api00", areas="stype", groups=["sch.wide"], scale=1.0)
    row = out[(out.cell_type == "area") & (out.stype == "E")].iloc[0]
    np.testing.assert_allclose(row.gap, ref["result"]["overall_estimate"], rtol=RTOL)
    np.testing.assert_allclose(row.gap_se, ref["result"]["overall_se"], rtol=RTOL)


def test_cells_agree_with_domain_means() -> None:
    des = build_design("strat")
    out = left_behind(des, "api00", areas="stype", groups=["sch.wide", "awards"], scale=1.0)
    assert set(out.cell_type) == {"area", "group", "area x group", "2-way groups"}
    both = out[out.cell_type == "area x group"].dropna(subset=["awards"])
    ref = des.mean("api00", by=["stype", "awards"])
    merged = both.merge(ref, on=["stype", "awards"], suffixes=("", "_m"))
    assert len(merged) == 6
    np.testing.assert_allclose(merged.estimate, merged.estimate_m, rtol=1e-12)
    np.testing.assert_allclose(merged.se, merged.se_m, rtol=1e-10)


def test_bh_qvalues() -> None:
    q = bh_qvalues(np.array([0.01, 0.04, 0.03, np.nan, 0.5]))
    np.testing.assert_allclose(q[[0, 1, 2, 4]], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert np.isnan(q[3])


def _synthetic(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 6000
    ward = rng.choice(["Hoàn Kiếm", "Ba Đình", "Tây Hồ"], n)
    psu = np.char.add(ward.astype(str), rng.integers(0, 12, n).astype(str))
    sex = rng.choice(["female", "male"], n)
    age = rng.choice(["18-39", "40-64", "65+"], n, p=[0.45, 0.4, 0.15])
    p = np.where((ward == "Hoàn Kiếm") & (sex == "female") & (age == "65+"), 0.35, 0.7)
    return pd.DataFrame({"ward": ward, "psu": psu, "sex": sex, "age": age, "w": rng.uniform(50, 150, n),
                         "skills": (rng.random(n) < p).astype(float)})


def test_left_behind_flags_the_group_with_intervals_inside_0_1() -> None:
    des = SurveyDesign(_synthetic(), weights="w", strata="ward", psu="psu")
    out = left_behind(des, "skills", areas="ward", groups=["sex", "age"], max_way=2, min_n=30)
    flagged = out[out.left_behind]
    assert not flagged.empty and (flagged.gap * 100 <= -10).all() and (flagged.q_value < 0.05).all()
    assert out.gap.iloc[0] == out.loc[out.reliability != "suppressed", "gap"].min()
    assert not flagged[(flagged.ward == "Hoàn Kiếm") & (flagged.age == "65+")].empty
    assert out.attrs["share"] and (out.ci_low >= 0).all() and (out.ci_high <= 1).all()
    row = out[(out.cell_type == "area") & (out.ward == "Tây Hồ")].iloc[0]
    ref = des.proportion("skills", by="ward", ci_method="logit")
    ref = ref[(ref.ward == "Tây Hồ") & (ref.skills.astype(float) == 1)].iloc[0]
    np.testing.assert_allclose([row.estimate, row.ci_low, row.ci_high], [ref.estimate, ref.ci_low, ref.ci_high],
                               rtol=1e-10)
    np.testing.assert_allclose(row.population, des.data.loc[des.data.ward == "Tây Hồ", "w"].sum(), rtol=1e-12)


def test_a_cell_equal_to_a_smaller_one_is_reported_once() -> None:
    data = _synthetic()
    data["rural"] = np.where(data.ward == "Tây Hồ", "rural", np.where(data.index % 2 == 0, "rural", "urban"))
    data["ethnicity"] = np.where((data.ward == "Ba Đình") & (data.index % 7 == 0), "dao", "kinh")
    des = SurveyDesign(data, weights="w", strata="ward", psu="psu")
    out = left_behind(des, "skills", areas="ward", groups=["rural", "ethnicity"], max_way=2, min_n=1)
    cells = out[["ward", "rural", "ethnicity"]].astype(object).where(out[["ward", "rural", "ethnicity"]].notna(), "")
    assert not cells.duplicated().any()
    assert out[(out.ward == "Tây Hồ") & out.rural.notna()].empty  # Tây Hồ x rural is all of Tây Hồ
    assert not out[(out.ward == "Ba Đình") & (out.rural == "urban")].empty  # a real part of Ba Đình stays
    assert out[(out.ward == "Ba Đình") & (out.ethnicity == "dao")].empty  # the Dao are met in Ba Đình only
    assert len(out[(out.ethnicity == "dao") & out.ward.isna() & out.rural.isna()]) == 1
    assert out.attrs["duplicates_dropped"] >= 3


def test_suppression_and_target_benchmark() -> None:
    des = SurveyDesign(_synthetic(), weights="w", strata="ward", psu="psu")
    out = left_behind(des, "skills", areas="ward", groups=["sex", "age"], benchmark=0.8, min_n=400, max_cv=0.01)
    assert set(out.reliability) >= {"suppressed", "unreliable"}
    assert not out.loc[out.reliability == "suppressed", "left_behind"].any()
    np.testing.assert_allclose(out.gap, out.estimate - 0.8)
    assert out.attrs["benchmark"] == 0.8


def test_dissimilarity_index_value_and_se_against_jackknife() -> None:
    data = _synthetic()
    des = SurveyDesign(data, weights="w", psu="psu")
    got = dissimilarity_index(des, "skills", ["sex", "age"]).iloc[0]
    m = data.assign(wy=data.w * data.skills).groupby(["sex", "age"])[["wy", "w"]].sum()
    pbar = m.wy.sum() / m.w.sum()
    expected = np.sum(m.w / m.w.sum() * np.abs(m.wy / m.w - pbar)) / (2 * pbar)
    np.testing.assert_allclose(got.d_index, expected, rtol=1e-12)
    rep = ReplicateDesign.from_design(des, "JK1")
    thetas = []
    for r in range(rep.repweights.shape[1]):
        d = SurveyDesign(data.assign(w=rep.repweights[:, r]), weights="w", psu="psu")
        thetas.append(dissimilarity_index(d, "skills", ["sex", "age"]).d_index.iloc[0])
    jk = np.sqrt(rep._variance(np.array([[got.d_index, *thetas]]))[0, 0])
    assert got.se == pytest.approx(jk, rel=0.1)


def test_tree_finds_the_intersection_furthest_behind() -> None:
    des = SurveyDesign(_synthetic(), weights="w", strata="ward", psu="psu")
    leaves = circumstance_tree(des, "skills", ["ward", "sex", "age"], max_depth=3, min_n=50)
    worst = leaves.iloc[0]
    assert "Hoàn Kiếm" in worst.leaf and "female" in worst.leaf and "65+" in worst.leaf
    assert worst.estimate < 0.45 and worst.gap < -0.2
    np.testing.assert_allclose(np.sum(leaves.n), len(des.data))

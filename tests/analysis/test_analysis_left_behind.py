"""The left-behind report, the D-index and the circumstance tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rref import RTOL, build_design, reference

from analysis import SurveyDesign
from analysis.formatting import format_number
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


LABELS = {"ward": {"Hoàn Kiếm": {"vi": "Phường Hoàn Kiếm", "en": "Hoàn Kiếm ward"}},
          "sex": {"female": {"vi": "phụ nữ", "en": "women"}, "male": {"vi": "nam giới", "en": "men"}},
          "age": {"65+": {"vi": "65+", "en": "aged 65+"}}}
SKILL = {"vi": "có kỹ năng số từ cơ bản trở lên", "en": "have at least basic digital skills"}


def test_left_behind_flags_the_group_and_says_so_in_both_languages() -> None:
    des = SurveyDesign(_synthetic(), weights="w", strata="ward", psu="psu")
    out = left_behind(des, "skills", areas="ward", groups=["sex", "age"], labels=LABELS, indicator_label=SKILL,
                      max_way=2, min_n=30)
    flagged = out[out.left_behind]
    assert not flagged.empty and (flagged.gap * 100 <= -10).all() and (flagged.q_value < 0.05).all()
    assert out.gap.iloc[0] == out.loc[out.reliability != "suppressed", "gap"].min()
    top = flagged[(flagged.ward == "Hoàn Kiếm") & (flagged.age == "65+")].iloc[0]
    pct, moe = round(top.estimate * 100), round((top.ci_high - top.ci_low) / 2 * 100)
    city = round(out.attrs["overall"] * 100)
    assert top.sentence_vi == (f"Ở Phường Hoàn Kiếm, {pct}% (±{moe} điểm) 65+ có kỹ năng số từ cơ bản trở lên, "
                               f"so với {city}% của toàn thành phố.")
    assert top.sentence_en.startswith(f"In Hoàn Kiếm ward, {pct}% (±{moe} points) of aged 65+ have at least")
    assert (out.reliability == "suppressed").sum() == out.sentence_vi.isna().sum()


def test_suppression_and_target_benchmark() -> None:
    des = SurveyDesign(_synthetic(), weights="w", strata="ward", psu="psu")
    out = left_behind(des, "skills", areas="ward", groups=["sex", "age"], benchmark=0.8, min_n=400, max_cv=0.01)
    assert set(out.reliability) >= {"suppressed", "unreliable"}
    assert not out.loc[out.reliability == "suppressed", "left_behind"].any()
    np.testing.assert_allclose(out.gap, out.estimate - 0.8)
    assert "so với mục tiêu 80%" in out.sentence_vi.dropna().iloc[0]


def test_vietnamese_decimal_comma() -> None:
    assert format_number(1234.5, "vi", 1) == "1.234,5"
    assert format_number(1234.5, "en", 1) == "1,234.5"


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

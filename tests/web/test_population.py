"""The demo tells the truth: calibrated estimates cover the known population values at about the
nominal rate over repeated samples, unweighted ones are biased, and the left-behind report finds the
planted gaps with few false ones."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, left_behind
from web.population import AGE_BANDS, build_population, draw_sample

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def population():
    return build_population(seed=7)


def calibrated(sample: pd.DataFrame, margins: pd.DataFrame) -> SurveyDesign:
    """Rake the design weights to the ward totals and the sex x age-band totals (as the app does)."""
    sample = sample.assign(sex_age=sample["sex"] + ":" + sample["age_band"])
    ward = {str(k): v for k, v in margins.groupby("ward_code")["count"].sum().items()}
    sex_age = {f"{s}:{a}": v for (s, a), v in margins.groupby(["sex", "age_band"])["count"].sum().items()}
    design = SurveyDesign(sample, weights="weight", strata="stratum", psu="psu")
    return design.rake({"ward_code": ward, "sex_age": sex_age}, max_iter=50)


def test_weighted_intervals_cover_the_truth_and_unweighted_ones_do_not(population):
    rng = np.random.default_rng(2025)
    margins = population.margins()
    truth_all = population.truth()
    truth_age = population.truth("age_band")
    truth_sex = population.truth("sex")
    covered, unweighted_covered, errors, unweighted_errors = [], [], [], []
    for _ in range(60):
        sample = draw_sample(population, rng)
        design = calibrated(sample, margins)
        overall = design.mean("y").iloc[0]
        covered.append(overall["ci_low"] <= truth_all <= overall["ci_high"])
        errors.append(overall["estimate"] - truth_all)
        for by, truth in (("age_band", truth_age), ("sex", truth_sex)):
            table = design.mean("y", by=by).set_index(by)
            covered.extend((table["ci_low"] <= truth[table.index]) & (truth[table.index] <= table["ci_high"]))
        naive = SurveyDesign(sample).mean("y").iloc[0]
        unweighted_covered.append(naive["ci_low"] <= truth_all <= naive["ci_high"])
        unweighted_errors.append(naive["estimate"] - truth_all)
    coverage = np.mean(covered)
    assert 0.91 <= coverage <= 0.985, coverage
    assert abs(np.mean(errors)) < 0.004  # calibrated: no visible bias (SE of one estimate about 0.009)
    assert np.mean(unweighted_errors) < -0.08  # older people answer more and have fewer skills
    assert np.mean(unweighted_covered) < 0.05


def _true_gaps(population, report: pd.DataFrame, groups: list[str]) -> np.ndarray:
    """The population gap (cell rate minus overall rate) of every row of a left-behind report."""
    cells = population.cells.assign(
        urban_rural=np.where(population.cells["ward_code"].map(population.wards.set_index("ward_code")["rural"]),
                             "rural", "urban"))
    overall = population.truth()
    gaps = []
    for row in report.itertuples(index=False):
        mask = np.ones(len(cells), dtype=bool)
        for column in ["ward_code", *groups]:
            value = getattr(row, column)
            if pd.notna(value):
                mask &= (cells[column] == (int(value) if column == "ward_code" else value)).to_numpy()
        part = cells[mask]
        gaps.append((part["N"] * part["p"]).sum() / part["N"].sum() - overall)
    return np.array(gaps)


def test_left_behind_finds_the_planted_gaps_and_few_false_ones(population):
    rng = np.random.default_rng(11)
    sample = draw_sample(population, rng, psus_per_ward=4, contacts_per_psu=20)
    design = calibrated(sample, population.margins())
    groups = ["sex", "age_band", "urban_rural"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty cells give NaN variances, reported as NaN
        report = left_behind(design, "y", areas="ward_code", groups=groups, max_way=2)
    report = report[report["reliability"] != "suppressed"].reset_index(drop=True)
    true_gap = _true_gaps(population, report, groups)
    flagged = report["left_behind"].to_numpy()

    older_women = (report["sex"] == "2") & (report["age_band"] == "60+") & report["ward_code"].isna()
    assert flagged[older_women.to_numpy() & report["urban_rural"].isna().to_numpy()].all()
    behind = set(population.wards.loc[population.wards["behind"], "ward_code"])
    area_rows = (report["cell_type"] == "area").to_numpy()
    found = {int(c) for c in report.loc[area_rows & flagged, "ward_code"]}
    assert len(found & behind) >= 0.75 * len(behind)

    false = flagged & (true_gap >= 0)  # flagged although the population is not behind at all (BH's FDR)
    assert false.sum() <= max(1, 0.05 * flagged.sum()), report[false]
    near = flagged & (true_gap > -0.05)  # behind, but by less than 5 points in the population
    assert near.sum() <= 0.1 * flagged.sum(), report[near]
    cells = report[["ward_code", *groups]].astype(object).where(report[["ward_code", *groups]].notna(), "")
    assert not cells.duplicated().any()  # a rural commune x "rural" is the commune: reported once
    assert AGE_BANDS[-1] in set(report.loc[flagged, "age_band"].dropna())

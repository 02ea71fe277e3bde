"""Fay–Herriot benchmark: speed at 126 and 3,321 areas, and a simulation on the demo's population.

    python bench/small_area.py [--reps 40] [--seed 2025]

Speed: best of 5 fits (REML, ML, FH) on simulated areas with three covariates and 3% of areas out of
sample; the budget is 0.2 s at 3,321 areas.

Simulation: the demo's synthetic population of Hà Nội's 126 wards (``web.population``, whose ward truths are
known) is sampled ``reps`` times with the demo's design (4 clusters a ward, unequal response by sex and age).
Each sample is weighted as the app weights it (raked to ward and sex × age-band census totals), direct ward
estimates come from ``SurveyDesign.proportion(by="ward_code", ci_method="logit")``, their variances are smoothed by the GVF
(:func:`analysis.smooth_variances`), and the model is fitted on the arcsine scale with the covariates the
app derives from census-like aggregates of the population (:func:`ward_covariates`): share aged 60+,
share with college or university education, rural commune, ethnic-minority share of residents (share of
women is computed but constant in this population). Never the planted truths.
Budget: for wards with fewer than 30 respondents, model RMSE ≤ 0.7 × direct RMSE; 95% intervals cover the
true ward rate 90-98% of the time over all wards.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import SurveyDesign, fay_herriot, smooth_variances  # noqa: E402
from web.population import Population, build_population, draw_sample  # noqa: E402

COVARIATES = ["share_60_plus", "share_higher_education", "rural", "share_ethnic_minority"]


def ward_covariates(population: Population) -> pd.DataFrame:
    """Census-like ward aggregates of the population (head counts by age, sex, education; commune or ward;
    the ethnic-minority share of residents)."""
    cells = population.cells
    total = cells.groupby("ward_code")["N"].sum()
    out = pd.DataFrame({
        "population": total,
        "share_60_plus": cells[cells["age_band"] == "60+"].groupby("ward_code")["N"].sum() / total,
        "share_higher_education": cells[cells["education"] == "high"].groupby("ward_code")["N"].sum() / total,
        "share_women": cells[cells["sex"] == "2"].groupby("ward_code")["N"].sum() / total,
    })
    wards = population.wards.set_index("ward_code")
    out["rural"] = wards["rural"].astype(float)
    out["share_ethnic_minority"] = wards["minority_share"]
    return out.reset_index()


def raked(sample: pd.DataFrame, margins: pd.DataFrame) -> SurveyDesign:
    """The app's weighting: design weights raked to ward totals and sex × age-band totals."""
    sample = sample.assign(sex_age=sample["sex"] + ":" + sample["age_band"])
    ward = {str(k): v for k, v in margins.groupby("ward_code")["count"].sum().items()}
    sex_age = {f"{s}:{a}": v for (s, a), v in margins.groupby(["sex", "age_band"])["count"].sum().items()}
    design = SurveyDesign(sample.assign(ward_code=sample["ward_code"].astype(str)), weights="weight",
                          strata="stratum", psu="psu")
    return design.rake({"ward_code": ward, "sex_age": sex_age}, max_iter=50)


def one_replicate(population: Population, wards: pd.DataFrame, margins: pd.DataFrame, rng: np.random.Generator,
                  method: str = "REML") -> pd.DataFrame:
    """Direct and model-based estimates of every ward for one sample; ``wards`` holds the covariates and truths."""
    sample = draw_sample(population, rng, psus_per_ward=4, contacts_per_psu=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # the share of y = 1 (its estimate and SE are those of the mean) with the interval the app shows for a
        # share: svyciprop's logit interval, t on the ward's design degrees of freedom
        direct = raked(sample, margins).proportion("y", by="ward_code", ci_method="logit").query("y == 1")
    direct = direct.assign(ward_code=direct["ward_code"].astype(int))
    data = wards.merge(direct[["ward_code", "estimate", "se", "n", "ci_low", "ci_high"]], on="ward_code", how="left")
    data["var"] = data["se"] ** 2
    data = smooth_variances(data, "estimate", "var", "n", share=True)
    fit = fay_herriot(data, "estimate", "var_smoothed", COVARIATES, area="ward_code", method=method,
                      transform="arcsin", effective_n="n_effective")
    return fit.table.assign(n=data["n"].to_numpy(), truth=data["truth"].to_numpy(), behind=data["behind"].to_numpy(),
                            direct_low=data["ci_low"].to_numpy(), direct_high=data["ci_high"].to_numpy())


def simulate(reps: int = 40, seed: int = 2025, method: str = "REML") -> dict[str, float]:
    """The simulation's figures over ``reps`` samples."""
    population = build_population(seed=7)
    wards = ward_covariates(population)
    wards["truth"] = wards["ward_code"].map(population.truth("ward_code"))
    wards["behind"] = wards["ward_code"].map(population.wards.set_index("ward_code")["behind"])
    margins = population.margins()
    rng = np.random.default_rng(seed)
    runs = pd.concat([one_replicate(population, wards, margins, rng, method).assign(rep=r) for r in range(reps)])
    small = runs[runs["n"] < 30]
    rmse = lambda col, rows: float(np.sqrt(np.mean((rows[col] - rows["truth"]) ** 2)))  # noqa: E731
    covered = (runs["ci_low"] <= runs["truth"]) & (runs["truth"] <= runs["ci_high"])
    direct_covered = (runs["direct_low"] <= runs["truth"]) & (runs["truth"] <= runs["direct_high"])
    per_ward = runs.assign(covered=covered).groupby("ward_code")["covered"].mean()
    return {
        "reps": reps, "wards": runs["ward_code"].nunique(), "small_ward_rows": len(small),
        "small_rmse_direct": rmse("direct", small), "small_rmse_model": rmse("eblup", small),
        "small_ratio": rmse("eblup", small) / rmse("direct", small),
        # the planted far-behind communes have no census marker: the model cannot see them coming
        "small_ratio_not_planted_behind": rmse("eblup", small[~small["behind"]]) / rmse("direct", small[~small["behind"]]),
        "small_ratio_planted_behind": rmse("eblup", small[small["behind"]]) / rmse("direct", small[small["behind"]]),
        "all_rmse_direct": rmse("direct", runs), "all_rmse_model": rmse("eblup", runs),
        "coverage_model": float(covered.mean()), "coverage_direct": float(direct_covered.mean()),
        "worst_ward_coverage": float(per_ward.min()),
        "mean_width_model": float((runs["ci_high"] - runs["ci_low"]).mean()),
        "mean_width_direct": float((runs["direct_high"] - runs["direct_low"]).mean()),
        "median_n": float(runs["n"].median()),
    }


def speed(m: int, repeats: int = 5) -> dict[str, float]:
    """Best-of-``repeats`` seconds of a fit over ``m`` simulated areas, per method."""
    rng = np.random.default_rng(m)
    data = pd.DataFrame({"area": np.arange(m), "a": rng.random(m), "b": rng.integers(0, 2, m).astype(float),
                         "c": rng.random(m)})
    n = rng.integers(5, 200, m)
    theta = 0.5 + 0.2 * data["a"] - 0.1 * data["b"] + rng.normal(0, 0.06, m)
    data["var"] = theta * (1 - theta) * 1.5 / n
    data["y"] = theta + rng.normal(0, np.sqrt(data["var"]))
    data.loc[rng.random(m) < 0.03, "y"] = np.nan
    out = {}
    for method in ("REML", "ML", "FH"):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fay_herriot(data, "y", "var", ["a", "b", "c"], area="area", method=method)
            times.append(time.perf_counter() - start)
        out[method] = min(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--method", default="REML")
    args = parser.parse_args()
    for m in (126, 3321):
        print(f"speed, {m} areas: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in speed(m).items()))
    start = time.perf_counter()
    figures = simulate(args.reps, args.seed, args.method)
    print(f"simulation ({time.perf_counter() - start:.0f} s):")
    for key, value in figures.items():
        print(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")


if __name__ == "__main__":
    main()

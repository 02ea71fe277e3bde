"""Benchmark: design + weighted mean with Taylor SE by 126 wards, KhaoSat vs R's survey, same data.

Usage::

    python bench/analysis_vs_r.py [--rows 1000000] [--seed 1] [--no-r]

Generates a synthetic survey (126 wards as strata, 5-40 PSUs each, sex and age groups), times
``SurveyDesign(...).mean("dsi_index", by="ward_code")`` (best of 3, after one warm-up) and R's
``svydesign`` + ``svyby(svymean)`` on the same CSV in the same run (``Rscript``; skipped with a
note if absent), checks that the two agree, and prints times, memory and the ratio. Budget
(docs/design): <= 0.5 s for 1,000,000 rows, >= 40x faster than R, extra memory <= 3x the data.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import SurveyDesign  # noqa: E402

R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
t0 <- proc.time()[["elapsed"]]
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = d)
res <- svyby(~dsi_index, ~ward_code, des, svymean)
t1 <- proc.time()[["elapsed"]]
cat(sprintf("%.6f\n", t1 - t0))
write.csv(data.frame(ward_code = res$ward_code, estimate = coef(res), se = SE(res)), args[2], row.names = FALSE)
"""


def synthetic_survey(rows: int, seed: int = 1) -> pd.DataFrame:
    """126 wards (strata), 5-40 PSUs each, weights varying by PSU, a digital-skills index and groups."""
    rng = np.random.default_rng(seed)
    n_psu = rng.integers(5, 41, size=126)
    psu_ward = np.repeat(np.arange(126), n_psu)
    psu_effect = rng.normal(0, 5, size=len(psu_ward))
    psu_weight = rng.uniform(50, 400, size=len(psu_ward))
    psu = rng.integers(0, len(psu_ward), size=rows)
    psu[: len(psu_ward)] = np.arange(len(psu_ward))  # every PSU has a respondent
    ward = psu_ward[psu]
    sex = rng.integers(0, 2, size=rows)
    age = rng.integers(0, 5, size=rows)
    dsi = 55 + ward % 17 + psu_effect[psu] - 4 * age + 3 * sex + rng.normal(0, 15, size=rows)
    return pd.DataFrame({
        "ward_code": ward + 26000, "stratum": ward, "psu": psu, "weight": psu_weight[psu] * rng.uniform(0.8, 1.2, rows),
        "sex": np.where(sex == 1, "female", "male"), "age_band": age, "dsi_index": dsi,
    })


def khaosat(df: pd.DataFrame) -> pd.DataFrame:
    des = SurveyDesign(df, weights="weight", strata="stratum", psu="psu")
    return des.mean("dsi_index", by="ward_code")


def time_khaosat(df: pd.DataFrame, repeats: int = 3) -> tuple[float, pd.DataFrame, float]:
    khaosat(df)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = khaosat(df)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    khaosat(df)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), res, peak


def time_r(df: pd.DataFrame) -> tuple[float, pd.DataFrame] | None:
    if shutil.which("Rscript") is None:
        print("R: Rscript not found, skipping the comparison (apt-get install r-base-core r-cran-survey)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data, out, script = Path(tmp, "d.csv"), Path(tmp, "r.csv"), Path(tmp, "b.R")
        df.to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        proc = subprocess.run(["Rscript", str(script), str(data), str(out)], capture_output=True, text=True, check=True)
        return float(proc.stdout.strip().splitlines()[-1]), pd.read_csv(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-r", action="store_true", help="skip R")
    args = parser.parse_args()
    df = synthetic_survey(args.rows, args.seed)
    data_bytes = df.memory_usage(deep=True).sum()
    seconds, res, peak = time_khaosat(df)
    print(f"data: {args.rows:,} rows, {df['psu'].nunique():,} PSUs in 126 wards, {data_bytes / 2**20:.1f} MiB")
    print(f"KhaoSat: design + mean by ward {seconds:.3f} s (budget 0.5 s); "
          f"peak extra memory {peak / 2**20:.1f} MiB = {peak / data_bytes:.2f}x data (budget 3x)")
    r = None if args.no_r else time_r(df)
    if r is not None:
        r_seconds, r_res = r
        merged = res.merge(r_res, on="ward_code", suffixes=("", "_r"))
        err = max(np.max(np.abs(merged.estimate / merged.estimate_r - 1)), np.max(np.abs(merged.se / merged.se_r - 1)))
        print(f"R survey: svydesign + svyby {r_seconds:.3f} s; ratio R / KhaoSat = {r_seconds / seconds:.1f}x "
              f"(budget >= 40x); max relative difference {err:.2e}")


if __name__ == "__main__":
    main()

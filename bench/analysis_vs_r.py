"""Benchmark: design + weighted mean with Taylor SE by 126 wards, KhaoSat vs R's survey, same data.

Usage::

    python bench/analysis_vs_r.py [--rows 1000000] [--seed 1] [--repeats 3] [--no-r]

Generates a synthetic survey (126 wards as strata, 5-40 PSUs each, sex and age groups), times
``SurveyDesign(...).mean("dsi_index", by="ward_code")`` and R's ``svydesign`` + ``svyby(svymean)``
on the same CSV in the same run (``Rscript``; skipped with a note if absent) with one protocol for
both: the cold run (the first in the process, libraries loaded, data read) and the best of
``--repeats`` warm runs after it; it compares cold with cold and warm with warm, checks that the
two agree, and prints times, memory and the ratios. Budget
(the design's budget table): <= 0.5 s for 1,000,000 rows, >= 40x faster than R, extra memory <= 3x the data.
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

from analysis import SurveyDesign, lazy  # noqa: E402

R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
repeats <- as.integer(args[3])
times <- numeric(0)
for (i in 0:repeats) {  # run 0 is the cold run, then `repeats` warm ones
  t0 <- proc.time()[["elapsed"]]
  des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = d)
  res <- svyby(~dsi_index, ~ward_code, des, svymean)
  times <- c(times, proc.time()[["elapsed"]] - t0)
}
cat(sprintf("%.6f %.6f\n", times[1], min(times[-1])))
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


def time_khaosat(df: pd.DataFrame, repeats: int = 3) -> tuple[float, float, pd.DataFrame, float]:
    """The cold run's time (the first in this process), the best of ``repeats`` warm ones, the result
    and the peak extra memory: the protocol R is timed with (``R_SCRIPT``). R's cold run starts with its package
    loaded (``library(survey)`` comes before the clock); so does ours: the libraries that ``analysis`` imports
    on first use (scipy.stats, for the t quantile) are imported before the clock, as ``library`` would."""
    preload_libraries()
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        res = khaosat(df)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    khaosat(df)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return times[0], min(times[1:]), res, peak


def preload_libraries() -> None:
    """Import what :mod:`analysis` imports lazily (it keeps ``import analysis`` light for the web app's start)."""
    for module in vars(lazy).values():
        if isinstance(module, lazy.LazyModule):
            module.load()


def time_r(df: pd.DataFrame, repeats: int) -> tuple[float, float, pd.DataFrame] | None:
    """R's cold run (the first in a fresh ``Rscript``, package loaded), its best of ``repeats`` warm
    runs after it, and the result."""
    return run_rscript(R_SCRIPT, df, repeats)


def run_rscript(r_script: str, df: pd.DataFrame, repeats: int) -> tuple[float, float, pd.DataFrame] | None:
    """Run ``r_script`` (arguments: data CSV, result CSV, warm repeats; it prints "cold warm" seconds last)
    on ``df``: (cold, best warm, the result), or None without R."""
    if shutil.which("Rscript") is None:
        print("R: Rscript not found, skipping the comparison (apt-get install r-base-core r-cran-survey)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data, out, script = Path(tmp, "d.csv"), Path(tmp, "r.csv"), Path(tmp, "b.R")
        df.to_csv(data, index=False)
        script.write_text(r_script)
        proc = subprocess.run(["Rscript", str(script), str(data), str(out), str(repeats)], capture_output=True,
                              text=True, check=True)
        cold, warm = (float(v) for v in proc.stdout.strip().splitlines()[-1].split())
        return cold, warm, pd.read_csv(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="warm runs after the cold one, best taken")
    parser.add_argument("--no-r", action="store_true", help="skip R")
    args = parser.parse_args()
    df = synthetic_survey(args.rows, args.seed)
    data_bytes = df.memory_usage(deep=True).sum()
    cold, seconds, res, peak = time_khaosat(df, args.repeats)
    print(f"data: {args.rows:,} rows, {df['psu'].nunique():,} PSUs in 126 wards, {data_bytes / 2**20:.1f} MiB")
    print(f"KhaoSat: design + mean by ward: cold {cold:.3f} s, best of {args.repeats} warm {seconds:.3f} s "
          f"(budget 0.5 s); peak extra memory {peak / 2**20:.1f} MiB = {peak / data_bytes:.2f}x data (budget 3x)")
    r = None if args.no_r else time_r(df, args.repeats)
    if r is not None:
        r_cold, r_seconds, r_res = r
        merged = res.merge(r_res, on="ward_code", suffixes=("", "_r"))
        err = max(np.max(np.abs(merged.estimate / merged.estimate_r - 1)), np.max(np.abs(merged.se / merged.se_r - 1)))
        print(f"R survey: svydesign + svyby: cold {r_cold:.3f} s, best of {args.repeats} warm {r_seconds:.3f} s")
        print(f"ratio R / KhaoSat: cold {r_cold / cold:.1f}x, warm {r_seconds / seconds:.1f}x (budget >= 40x); "
              f"max relative difference {err:.2e}")


if __name__ == "__main__":
    main()

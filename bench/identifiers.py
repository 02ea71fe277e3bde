"""Design + mean by ward on 1,000,000 rows whose identifiers are integers, strings or pandas categoricals,
and R's survey on the same data.

    python bench/identifiers.py [--rows 1000000] [--repeats 5] [--r-repeats 1] [--no-r]

126 wards as strata ("W068"), 25 PSUs per ward ("W068-P20"), a normal variable and uniform weights;
``SurveyDesign(strata="ward", psu="psu")`` then ``.mean("y", by="ward")``. One protocol for every case and
for R (as ``bench/analysis_vs_r.py``): the cold run (the first on that frame, after one run on 1,000 rows has
loaded the modules, as R's script loads ``survey`` before its clock starts), then the best of
``--repeats`` warm runs; wall-clock and CPU seconds (CPU is steadier on a shared machine; it counts
every thread, so BLAS threads spinning on a busy machine count too). Identifier types: ``int64``;
pandas ``str`` (the arrow-backed strings ``read_csv`` gives in pandas 3); Python ``object`` strings;
``category``. R reads the same CSV (``read.csv``: character columns) and runs ``svydesign`` +
``svyby(svymean)``. The standard errors of every case are printed to show that the identifier's type
changes no number.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import SurveyDesign  # noqa: E402
from bench.analysis_vs_r import run_rscript  # noqa: E402

R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
repeats <- as.integer(args[3])
times <- numeric(0)
for (i in 0:repeats) {
  t0 <- proc.time()[["elapsed"]]
  des <- svydesign(ids = ~psu, strata = ~ward, weights = ~w, data = d)
  res <- svyby(~y, ~ward, des, svymean)
  times <- c(times, proc.time()[["elapsed"]] - t0)
}
cat(sprintf("%.6f %.6f\n", times[1], min(times[-1])))
write.csv(data.frame(ward = res$ward, estimate = coef(res), se = SE(res)), args[2], row.names = FALSE)
"""


def frames(n: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    ward, psu = rng.integers(0, 126, n), rng.integers(0, 25, n)
    base = pd.DataFrame({"y": rng.normal(50, 10, n), "w": rng.uniform(0.5, 2, n)})
    ward_text = pd.Series(np.char.add("W", np.char.zfill(ward.astype(str), 3)), dtype=object)
    psu_text = pd.Series(np.char.add(np.char.add(ward_text.to_numpy().astype(str), "-P"),
                                     np.char.zfill(psu.astype(str), 2)), dtype=object)
    return {"integer (int64)": base.assign(ward=ward, psu=ward * 100 + psu),
            "string (pandas str)": base.assign(ward=ward_text.astype("str"), psu=psu_text.astype("str")),
            "string (object)": base.assign(ward=ward_text, psu=psu_text),
            "categorical": base.assign(ward=ward_text.astype("category"), psu=psu_text.astype("category"))}


def timed(frame: pd.DataFrame, repeats: int) -> tuple[tuple[float, float], tuple[float, float], pd.DataFrame]:
    """(cold wall, cold cpu), (best warm wall, best warm cpu), the result."""
    walls, cpus = [], []
    for _ in range(repeats + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        table = SurveyDesign(frame, weights="w", strata="ward", psu="psu").mean("y", by="ward")
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
    return (walls[0], cpus[0]), (min(walls[1:]), min(cpus[1:])), table


def time_r(frame: pd.DataFrame, repeats: int) -> tuple[float, float, pd.DataFrame] | None:
    return run_rscript(R_SCRIPT, frame, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--r-repeats", type=int, default=1, help="R's warm runs (each takes seconds)")
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    print(f"{args.rows:,} rows, 126 strata, 3,150 PSUs; cold run, then best of {args.repeats} warm")
    results = {}
    made = frames(args.rows)
    timed(next(iter(made.values())).head(1000), 1)  # the modules loaded, not timed: R loads survey first
    for kind, frame in made.items():
        (cold, cold_cpu), (wall, cpu), table = timed(frame, args.repeats)
        results[kind] = (cold, wall, table)
        print(f"{kind:20} cold wall {cold:.3f} s cpu {cold_cpu:.3f} s | warm wall {wall:.3f} s cpu {cpu:.3f} s "
              f"| se[0] {table['se'].iloc[0]:.10f}")
    r = None if args.no_r else time_r(frames(args.rows)["string (object)"], args.r_repeats)
    if r is not None:
        r_cold, r_warm, r_table = r
        _, _, ours = results["string (object)"]
        merged = ours.merge(r_table, on="ward", suffixes=("", "_r"))
        err = max(np.max(np.abs(merged.estimate / merged.estimate_r - 1)), np.max(np.abs(merged.se / merged.se_r - 1)))
        print(f"R survey (character identifiers): cold {r_cold:.2f} s, best warm {r_warm:.2f} s; "
              f"max relative difference {err:.1e}")
        for kind, (cold, wall, _) in results.items():
            print(f"  R / KhaoSat, {kind:20} cold {r_cold / cold:6.0f}x  warm {r_warm / wall:6.0f}x")


if __name__ == "__main__":
    main()

"""The variances a left-behind ranking takes: each cell's mean and its gap to the whole, by ward, sex, age band and
their crossings (the ranking's six partitions), from the whole (2 + 2K)^2 variance matrix of the totals against
each domain's 4 x 4 block alone (:func:`analysis.domain_totals.ratio_totals` with ``blocks``), in the same run.

    OPENBLAS_NUM_THREADS=1 python bench/domain_variances.py              # 100,000 rows
    OPENBLAS_NUM_THREADS=1 python bench/domain_variances.py 1000000

The data are ``bench/analysis_vs_r.py``'s synthetic survey (126 wards as strata, 5-40 PSUs each, weights by PSU).
Printed per partition: its cells, the best of three wall times of the whole matrix from dense unit totals (as it was
made before 28 November: the peer), from sparse ones, and of the blocks alone, the ratio of the first to the last,
and the largest relative difference of the gaps' variances (whole sparse matrix against blocks).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from analysis import SurveyDesign  # noqa: E402
from analysis.domain_totals import _as_blocks, mean_differences, ratio_totals  # noqa: E402
from analysis.domains import domains  # noqa: E402
from analysis.estimators import numeric  # noqa: E402
from analysis.variance import Influence, _stage_vcov, unit_totals  # noqa: E402
from bench.analysis_vs_r import synthetic_survey  # noqa: E402

PARTITIONS = (["ward_code"], ["sex"], ["age_band"], ["ward_code", "sex"], ["ward_code", "age_band"],
              ["sex", "age_band"])


def best(run, repeats: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = synthetic_survey(rows)
    design = SurveyDesign(data, weights="weight", strata="stratum", psu="psu")
    y, ok = numeric(design, "dsi_index")
    print(f"{rows:,} rows, {data['psu'].nunique():,} PSUs in {data['stratum'].nunique()} strata")
    print(f"{'partition':<22} {'cells':>6} {'dense':>9} {'sparse':>9} {'blocks':>9} {'ratio':>7} {'max rel. diff':>14}")
    totals = [0.0, 0.0, 0.0]
    for by in PARTITIONS:
        dom = domains(design.data, by)

        def gaps(blocks: bool, dom=dom):
            t, v = ratio_totals(design, y, ok, dom, blocks=blocks)
            return mean_differences(t, v if blocks else _as_blocks(v, dom.size), dom.size, "overall")[1]

        def dense(dom=dom):  # the whole matrix as it was made before 28 November: the units' totals dense (one stage)
            w = np.where(ok, design.weights, 0.0)
            wd = dom.only_members(w)
            stage = design.stages[0]
            totals = np.hstack([unit_totals(stage.unit, stage.n_unit_codes, infl) for infl in (
                Influence(np.column_stack([w * y, w])),
                Influence(np.column_stack([wd * y, wd]), dom.safe_codes(), dom.size))])
            return _stage_vcov(stage, totals, design.lonely_psu, np.ones(stage.n_strata))

        before, _ = best(dense)
        whole, want = best(lambda: gaps(False))
        fast, got = best(lambda: gaps(True))
        totals = [totals[0] + before, totals[1] + whole, totals[2] + fast]
        diff = float(np.max(np.abs(got - want) / np.abs(want)))
        print(f"{' x '.join(by):<22} {dom.size:>6,} {before:>8.3f}s {whole:>8.3f}s {fast:>8.3f}s "
              f"{before / fast:>6.1f}x {diff:>14.1e}")
    print(f"{'all six':<22} {'':>6} {totals[0]:>8.3f}s {totals[1]:>8.3f}s {totals[2]:>8.3f}s "
          f"{totals[0] / totals[2]:>6.1f}x")


if __name__ == "__main__":
    main()

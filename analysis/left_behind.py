"""The left-behind report: who falls furthest below the benchmark, by area, group and intersection.

For an indicator (a 0/1 or numeric column) the report estimates the mean in every cell (each area,
each group, each area x group, and each intersection of up to ``max_way`` groups), its gap to the
benchmark (the overall mean, or a target value) with a design-based SE, a p-value and a
Benjamini-Hochberg q-value over all cells, and flags ``left_behind`` when the gap is significantly
negative (q < ``alpha``) and at least ``material_points`` in size. The gap to the overall mean is
linearised jointly (the cell and the whole population share PSUs), see
:mod:`analysis.domain_totals`.

Reliability follows the US NCHS presentation rule (NCHS 2017, Parker et al.; NAMCS/NHAMCS): a cell
with fewer than 30 respondents is suppressed; a cell with a relative standard error (cv) above 30%
is shown but flagged unreliable. Both thresholds are arguments.

Intervals and tests use Student t on the design degrees of freedom (PSUs minus strata). A 0/1
indicator (a share) gets the logit interval of R's ``svyciprop(method = "logit")``
(:func:`analysis.intervals.logit_ci`; Korn-Graubard with the cell's n at 0% and 100%) on the cell's own degrees of freedom, as ``SurveyDesign.proportion``
and R's ``svyby(..., svyciprop)`` give it, so it never leaves [0, 1]; a score gets the Wald interval.

A cell is reported once: a cell with more keys whose respondents are exactly those of a cell with
fewer keys (a ward whose respondents all live in a xã, crossed with urban/rural; an ethnic group met in
one ward only) is dropped, and the number dropped is kept in ``attrs["duplicates_dropped"]``.

The report holds codes and numbers only (no sentences): the web layer words them in each language.

References
----------
UN ESCAP (2018). *Inequality of Opportunity in Asia and the Pacific* (leave-no-one-behind methodology).
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate. *JRSS B* 57, 289-300.
Parker, J. D. et al. (2017). NCHS data presentation standards for proportions. *Vital Health Stat* 2(175).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from analysis.design import SurveyDesign
from analysis.domain_totals import domain_means, mean_differences, ratio_totals
from analysis.domains import domains
from analysis.estimators import numeric
from analysis.intervals import boundary_ci, logit_ci
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import stats
from analysis.results import MAX_CV, MIN_N, Estimate, SignificanceTest, reliability, wald_ci

__all__ = ["left_behind", "bh_qvalues"]

CELL_COLUMNS = ("estimate", "se", "n", "population", "df", "gap", "gap_se", "ci_low", "ci_high", "cv")
INTERVAL_COLUMNS = ["ci_low", "ci_high", "cv"]  #: after every partition's key columns


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``); NaN stays NaN
    and is not counted."""
    p = np.asarray(p, dtype=float)
    q = np.full(len(p), np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok])
    return q


def _partitions(areas: str | None, groups: Sequence[str], max_way: int) -> list[tuple[str, list[str]]]:
    parts = [("area", [areas])] if areas else []
    parts += [("group", [g]) for g in groups]
    if areas:
        parts += [("area x group", [areas, g]) for g in groups]
    for way in range(2, max_way + 1):
        parts += [(f"{way}-way groups", list(c)) for c in combinations(groups, way)]
    return parts


def _duplicates(out: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Rows whose respondents are those of a row with one key fewer (same values on the other keys): a
    cell is a subset of each such parent, so the same count of respondents means the same people."""
    present = out[keys].notna().to_numpy()
    values = out[keys].astype(object).to_numpy()
    n = out["n"].tolist()  # read once: ``out["n"].iat[i]`` in the loops took a third of the ranking's time
    cells = [tuple((k, values[i, j]) for j, k in enumerate(keys) if present[i, j]) for i in range(len(out))]
    counts = dict(zip(cells, n, strict=True))
    dropped = np.zeros(len(out), dtype=bool)
    for i, cell in enumerate(cells):
        if len(cell) > 1 and n[i] > 0:
            dropped[i] = any(counts.get(cell[:m] + cell[m + 1:]) == n[i] for m in range(len(cell)))
    return dropped


def _share_ci(p: np.ndarray, se: np.ndarray, n: np.ndarray, level: float, df: np.ndarray):
    """R's ``svyciprop(method="logit")`` on the cell's df; at 0% or 100% (or no variance)
    Korn-Graubard with the cell's n, as ``SurveyDesign.proportion``."""
    low, high = logit_ci(p, se, level, df)
    edge = (p <= 0) | (p >= 1) | ~(se > 0)
    edge_low, edge_high = boundary_ci(p, n, level, df)
    return np.where(edge, edge_low, low), np.where(edge, edge_high, high)


def _cells(design: SurveyDesign, y: np.ndarray, ok: np.ndarray, cell_type: str, cols: list[str],
           target: float | None, share: bool, level: float, counts: np.ndarray) -> pd.DataFrame:
    """One partition's cells: estimate with its interval, n, population, df, cv, gap and gap_se."""
    dom = domains(design.data, cols)
    t, v = ratio_totals(design, y, ok, dom, blocks=True)
    est, var = domain_means(t, v, dom.size)
    if target is None:
        gap, gap_var = mean_differences(t, v, dom.size, "overall")
    else:
        gap, gap_var = est - target, var
    n = np.bincount(dom.safe_codes(), weights=(dom.member & ok & (design.weights != 0)) * counts,
                    minlength=dom.size).astype(np.int64)
    df = design.degf_by(dom.codes, dom.size, dom.member & ok).astype(float)
    se = np.sqrt(var)
    ci = _share_ci(est, se, n, level, df) if share else wald_ci(est, se, level, float(design.degf(ok)))
    keys = dom.keys.copy()
    keys.insert(0, "cell_type", cell_type)
    cells = Estimate(keys, est, se, n, df, *ci, "mean", level, extra={
        "population": t[2 + dom.size:],  #: the people the cell stands for (its weights' sum)
        "gap": gap, "gap_se": np.sqrt(gap_var)})
    return cells.to_frame(columns=[*keys.columns, *CELL_COLUMNS])


def left_behind(design: SurveyDesign, indicator: str, areas: str | None = None, groups: Sequence[str] = (),
                max_way: int = 2, benchmark: str | float = "overall", min_n: int = MIN_N, max_cv: float = MAX_CV,
                material_points: float = 10.0, alpha: float = 0.05, level: float = 0.95,
                scale: float = 100.0, respondents: str | None = None, share: bool | None = None) -> pd.DataFrame:
    """Cells furthest behind the benchmark, with gaps, q-values and the people they stand for.

    Parameters
    ----------
    indicator : str
        0/1 (share) or numeric column; ``scale`` (100) turns a share into percentage points.
    areas, groups : str, list of str
        The area column (e.g. ward) and the circumstance columns (sex, age band, ...).
    benchmark : "overall" or float
        Compare with the overall mean (gap linearised jointly) or a fixed target (on the 0-1 scale).
    min_n, max_cv : NCHS rule: suppress when n < ``min_n``; flag unreliable when cv > ``max_cv``.
    material_points : smallest gap (in points of ``scale``) worth flagging.
    respondents : str, optional
        A column of how many respondents each row stands for (a roll-up's groups:
        :func:`analysis.rollup.as_design`); by default each row is one.
    share : bool, optional
        Whether the indicator is 0/1 (logit intervals); by default, whether its every value is 0 or 1.

    Returns
    -------
    DataFrame, sorted furthest-behind first: cell_type, the area and group columns, estimate, se,
    ci_low, ci_high, n, population, df (the cell's design degrees of freedom), cv, reliability, gap, gap_se, gap_ci_low, gap_ci_high, p_value,
    q_value, left_behind. ``attrs``: overall, benchmark, share (whether the indicator is 0/1), df,
    duplicates_dropped, reliability_rule.
    """
    y, ok = numeric(design, indicator)
    w = np.where(ok, design.weights, 0.0)
    overall = float(np.sum(w * y) / np.sum(w))
    share = bool(np.isin(y[ok], (0.0, 1.0)).all()) if share is None else share
    counts = np.ones(len(y)) if respondents is None else design.column(respondents).to_numpy(dtype=float)
    target = None if benchmark == "overall" else float(benchmark)
    keys = ([areas] if areas else []) + list(groups)
    frames = [_cells(design, y, ok, kind, cols, target, share, level, counts)
              for kind, cols in _partitions(areas, list(groups), max_way)]
    out = pd.concat(frames, ignore_index=True)
    out = out[[c for c in out.columns if c not in INTERVAL_COLUMNS] + INTERVAL_COLUMNS]
    out.attrs = {}
    duplicate = _duplicates(out, keys)
    out = out[~duplicate].reset_index(drop=True)
    df = float(design.degf(ok))
    out["reliability"] = reliability(out["n"], out["cv"], min_n, max_cv)
    suppressed = (out["reliability"] == "suppressed").to_numpy()
    gap = SignificanceTest.t(out["gap"].to_numpy(), out["gap_se"].to_numpy(), df, level)
    out["gap_ci_low"], out["gap_ci_high"] = gap.ci_low, gap.ci_high
    out["p_value"] = np.where(suppressed, np.nan, gap.p_value)
    out["q_value"] = bh_qvalues(out["p_value"].to_numpy())
    out["left_behind"] = (~suppressed & (out["gap"] < 0) & (out["q_value"] < alpha)
                          & (-out["gap"] * scale >= material_points))
    out["_suppressed"] = suppressed
    out = out.sort_values(["_suppressed", "gap"], kind="stable").drop(columns="_suppressed").reset_index(drop=True)
    out.attrs.update({"overall": overall, "benchmark": overall if target is None else target, "share": share,
                      "df": df, "duplicates_dropped": int(duplicate.sum()),
                      "reliability_rule": f"NCHS: suppress n < {min_n}; unreliable if cv > {max_cv}"})
    return out

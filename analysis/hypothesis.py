"""Design-based tests: Rao-Scott chi-square, t-test, and a domain against the rest or the whole.

* :func:`chisq` is R's ``svychisq`` for a two-way table: Pearson's X^2 on the weighted table
  scaled to the sample size, with the Rao-Scott second-order correction (``"F"``: X^2 / tr(Delta)
  on an F(d, d * nu) distribution with d = tr(Delta)^2 / tr(Delta^2); ``"Chisq"``: X^2 / mean
  eigenvalue on chi-square with (r-1)(c-1) df); nu = PSUs minus strata.
* :func:`ttest` is ``svyttest(y ~ group)``: the difference of the two domain means (second level
  minus first), with t on ``degf - 1`` degrees of freedom (the residual df of ``svyglm``).
* :func:`domain_test` compares each domain's mean with the rest of the population or with the
  overall mean. Both share PSUs, so the difference is linearised from the joint totals
  ``(sum w y, sum w)`` of the domain and the whole (:mod:`analysis.domain_totals`).

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with
cell proportions estimated from survey data. *Ann. Statist.* 12, 46-60.
Lumley, T. (2010). *Complex Surveys*. Wiley, sections 3.3 and 6.1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.domain_totals import AGAINST, mean_differences, ratio_totals
from analysis.domains import domains
from analysis.errors import DesignError
from analysis.estimators import mean_of, numeric
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import stats
from analysis.results import SignificanceTest
from analysis.variance import Influence

if TYPE_CHECKING:
    from analysis.design import SurveyDesign

__all__ = ["chisq", "ttest", "domain_test"]

_STATISTICS = ("F", "Chisq")
TTEST_COLUMNS = ("statistic", "df", "estimate", "se", "p_value", "ci_low", "ci_high")


def _codes(col: pd.Series) -> tuple[np.ndarray, int]:
    codes, levels = pd.factorize(col, sort=True, use_na_sentinel=True)
    return codes, len(levels)


def chisq(design: SurveyDesign, row: str, col: str, statistic: str = "F") -> pd.DataFrame:
    """Rao-Scott test of independence of ``row`` and ``col``; one row: statistic, ndf, ddf, p_value."""
    if statistic not in _STATISTICS:
        raise DesignError(f"statistic={statistic!r} is not allowed; choose one of {_STATISTICS}")
    r, nr = _codes(design.column(row))
    c, nc = _codes(design.column(col))
    ok = (r >= 0) & (c >= 0)
    cells = np.where(ok, r + nr * c, 0)
    w = np.where(ok, design.weights, 0.0)
    wsum = w.sum()
    p = np.bincount(cells, weights=w, minlength=nr * nc) / wsum
    ind = np.zeros((design.n, nr * nc))
    ind[np.flatnonzero(ok), cells[ok]] = 1.0
    z = w[:, None] * (ind - p) / wsum
    v = design.vcov(Influence(z))
    n_all = design.n
    first = design.stages[0]
    nu = first.n_unit_codes - first.n_strata
    table = (p * n_all).reshape(nc, nr).T
    expected = np.outer(table.sum(1), table.sum(0)) / n_all
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = float(np.nansum((table - expected) ** 2 / expected))
    grid_r, grid_c = np.tile(np.arange(nr), nc), np.repeat(np.arange(nc), nr)
    x1 = np.column_stack([np.ones(nr * nc)] + [grid_r == i for i in range(1, nr)] + [grid_c == j for j in range(1, nc)])
    inter = np.column_stack([(grid_r == i) & (grid_c == j) for j in range(1, nc) for i in range(1, nr)]).astype(float)
    q, _ = np.linalg.qr(x1.astype(float))
    cmat = inter - q @ (q.T @ inter)
    inv_p = np.where(p == 0, 0.0, 1 / np.where(p == 0, 1, p))
    denom = cmat.T @ (cmat * (inv_p / n_all)[:, None])
    numr = (cmat * inv_p[:, None]).T @ v @ (cmat * inv_p[:, None])
    delta = np.linalg.solve(denom, numr)
    tr = np.trace(delta)
    d0 = tr**2 / np.trace(delta @ delta)
    method = f"Pearson's X^2: Rao & Scott adjustment ({statistic})"
    if statistic == "F":
        f = x2 / tr
        result = SignificanceTest(f, d0, stats.f.sf(f, d0, d0 * nu), ddf=d0 * nu, method=method)
    else:
        k = delta.shape[0]
        result = SignificanceTest(x2, float(k), stats.chi2.sf(x2 / (tr / k), k), ddf=np.inf, method=method)
    return result.to_frame()


def domain_test(design: SurveyDesign, variable: str, by: str, against: str = "rest",
                level: float = 0.95) -> pd.DataFrame:
    """Each domain's mean minus the rest's (``against="rest"``) or the overall mean (``"overall"``).

    Returns the ``by`` column, estimate (difference), se, ci_low, ci_high, statistic, df, p_value;
    t on the design degrees of freedom minus one (as ``svyttest``).
    """
    if against not in AGAINST:
        raise DesignError(f"against={against!r} is not allowed; choose one of {AGAINST}")
    y, ok = numeric(design, variable)
    dom = domains(design.data, by)
    t, v = ratio_totals(design, y, ok, dom, blocks=True)
    est, var = mean_differences(t, v, dom.size, against)
    df = float(design.degf(ok) - 1)
    return SignificanceTest.t(est, np.sqrt(var), df, level, keys=dom.keys).to_frame()


def ttest(design: SurveyDesign, variable: str, group: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Design-based t-test (R's ``svyttest``): one-sample (mean = 0) or difference of two groups."""
    y, ok = numeric(design, variable)
    if group is None:
        est = mean_of(design, y, ok, domains(design.data, None))
        diff, se = est.estimate[0], est.se[0]
    else:
        codes, n_levels = _codes(design.column(group))
        if n_levels != 2:
            raise DesignError(f"group {group!r} must have exactly 2 levels for a t-test, it has {n_levels}")
        ok = ok & (codes >= 0)
        dom = domains(design.data.assign(_g=codes), "_g")
        t, v = ratio_totals(design, y, ok & dom.member, dom, blocks=True)
        est, var = mean_differences(t, v, 2, "rest")
        diff, se = est[1], float(np.sqrt(var[1]))
    df = float(design.degf(ok) - 1)
    return SignificanceTest.t(np.array([diff]), np.array([se]), df, level).to_frame(TTEST_COLUMNS)

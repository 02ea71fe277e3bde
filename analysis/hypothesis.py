"""Design-based tests: Rao-Scott chi-square, t-test, and a domain against the rest or the whole.

* :func:`chisq` is R's ``svychisq`` for a two-way table: Pearson's X^2 on the weighted table
  scaled to the sample size, with the Rao-Scott second-order correction (``"F"``: X^2 / tr(Delta)
  on an F(d, d * nu) distribution with d = tr(Delta)^2 / tr(Delta^2); ``"Chisq"``: X^2 / mean
  eigenvalue on chi-square with (r-1)(c-1) df); nu = PSUs minus strata.
* :func:`ttest` is ``svyttest(y ~ group)``: the difference of the two domain means (second level
  minus first), with t on ``degf - 1`` degrees of freedom (the residual df of ``svyglm``).
* :func:`domain_test` compares each domain's mean with the rest of the population or with the
  overall mean. Both share PSUs, so the difference is linearised from the joint totals
  ``(sum w y, sum w)`` of the domain and the whole (delta method, as R's ``svycontrast``).

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with
cell proportions estimated from survey data. *Ann. Statist.* 12, 46-60.
Lumley, T. (2010). *Complex Surveys*. Wiley, sections 3.3 and 6.1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from analysis.domains import Domains, domains
from analysis.errors import DesignError
from analysis.estimators import numeric
from analysis.results import critical_value
from analysis.variance import Influence

if TYPE_CHECKING:
    from analysis.design import SurveyDesign

__all__ = ["chisq", "ttest", "domain_test", "ratio_totals"]

_STATISTICS = ("F", "Chisq")


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
    if statistic == "F":
        f = x2 / tr
        result = {"statistic": f, "ndf": d0, "ddf": d0 * nu, "p_value": stats.f.sf(f, d0, d0 * nu)}
    else:
        k = delta.shape[0]
        result = {"statistic": x2, "ndf": float(k), "ddf": np.inf, "p_value": stats.chi2.sf(x2 / (tr / k), k)}
    out = pd.DataFrame([result])
    out.attrs["method"] = f"Pearson's X^2: Rao & Scott adjustment ({statistic})"
    return out


def ratio_totals(design: SurveyDesign, y: np.ndarray, ok: np.ndarray, dom: Domains):
    """Totals ``[Y, W, Y_1..Y_K, W_1..W_K]`` (overall, then per domain) and their variance matrix."""
    w = np.where(ok, design.weights, 0.0)
    wd = np.where(dom.member, w, 0.0)
    overall = Influence(np.column_stack([w * y, w]))
    by_domain = Influence(np.column_stack([wd * y, wd]), dom.safe_codes(), dom.size)
    t = np.concatenate([[np.sum(w * y), w.sum()],
                        np.bincount(dom.safe_codes(), weights=wd * y, minlength=dom.size),
                        np.bincount(dom.safe_codes(), weights=wd, minlength=dom.size)])
    v = design.vcov([overall, by_domain])
    k = dom.size
    order = np.concatenate([[0, 1], 2 + 2 * np.arange(k), 3 + 2 * np.arange(k)])
    return t, v[np.ix_(order, order)]


def _contrast(t: np.ndarray, v: np.ndarray, k: int, against: str) -> tuple[np.ndarray, np.ndarray]:
    """Difference of each domain mean from the overall or the rest, with delta-method variances."""
    y, w, yk, wk = t[0], t[1], t[2:2 + k], t[2 + k:]
    grads = np.zeros((len(t), k))
    idx = np.arange(k)
    grads[2 + idx, idx] = 1 / wk
    grads[2 + k + idx, idx] = -yk / wk**2
    if against == "overall":
        est = yk / wk - y / w
        grads[0, :] -= 1 / w
        grads[1, :] += y / w**2
    else:
        yr, wr = y - yk, w - wk
        est = yk / wk - yr / wr
        grads[0, :] -= 1 / wr
        grads[1, :] += yr / wr**2
        grads[2 + idx, idx] += 1 / wr
        grads[2 + k + idx, idx] -= yr / wr**2
    var = np.sum(grads * (v @ grads), axis=0)  # diag(G' V G): BLAS, where einsum's loop took seconds
    return est, var


def domain_test(design: SurveyDesign, variable: str, by: str, against: str = "rest",
                level: float = 0.95) -> pd.DataFrame:
    """Each domain's mean minus the rest's (``against="rest"``) or the overall mean (``"overall"``).

    Returns the ``by`` column, estimate (difference), se, ci_low, ci_high, statistic, df, p_value;
    t on the design degrees of freedom minus one (as ``svyttest``).
    """
    if against not in ("rest", "overall"):
        raise DesignError(f"against={against!r} is not allowed; choose one of ('rest', 'overall')")
    y, ok = numeric(design, variable)
    dom = domains(design.data, by)
    t, v = ratio_totals(design, y, ok, dom)
    est, var = _contrast(t, v, dom.size, against)
    se = np.sqrt(var)
    df = float(design.degf(ok) - 1)
    q = critical_value(level, df)
    out = dom.keys.copy()
    out["estimate"], out["se"] = est, se
    out["ci_low"], out["ci_high"] = est - q * se, est + q * se
    out["statistic"] = est / se
    out["df"] = df
    out["p_value"] = 2 * stats.t.sf(np.abs(out["statistic"]), df)
    return out


def ttest(design: SurveyDesign, variable: str, group: str | None = None, level: float = 0.95) -> pd.DataFrame:
    """Design-based t-test (R's ``svyttest``): one-sample (mean = 0) or difference of two groups."""
    y, ok = numeric(design, variable)
    if group is None:
        from analysis.estimators import mean_of
        est = mean_of(design, y, ok, domains(design.data, None))
        diff, se = est.estimate[0], est.se[0]
        df = float(design.degf(ok) - 1)
    else:
        codes, n_levels = _codes(design.column(group))
        if n_levels != 2:
            raise DesignError(f"group {group!r} must have exactly 2 levels for a t-test, it has {n_levels}")
        ok = ok & (codes >= 0)
        dom = domains(design.data.assign(_g=codes), "_g")
        t, v = ratio_totals(design, y, ok & dom.member, dom)
        est, var = _contrast(t, v, 2, "rest")
        diff, se = est[1], float(np.sqrt(var[1]))
        df = float(design.degf(ok) - 1)
    stat = diff / se
    q = critical_value(level, df)
    out = pd.DataFrame([{"statistic": stat, "df": df, "estimate": diff, "se": se,
                         "p_value": 2 * stats.t.sf(abs(stat), df),
                         "ci_low": diff - q * se, "ci_high": diff + q * se}])
    return out

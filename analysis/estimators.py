"""Design-based estimators: mean, total, proportion and ratio, each with domains (``by=``).

Each estimator computes its point estimates and influence values for all domains at once (one
``bincount`` per quantity), then asks the design for the variance matrix; it never redoes strata or
PSU arithmetic. Formulas and design effects follow R's ``svymean``, ``svytotal``, ``svyratio`` and
``svyciprop`` (``survey`` 4.x):

* mean: :math:`\\hat y = \\sum w y / \\sum w`, influence :math:`w (y - \\hat y) / \\sum w`;
* total: influence :math:`w y`;
* ratio: :math:`\\hat R = \\sum w y / \\sum w x`, influence :math:`w (y - \\hat R x) / \\sum w x`;
* deff: variance over the SRS-without-replacement variance
  :math:`s^2 (N - n)/(N n)` with :math:`s^2` R's ``svyvar`` (``n/(n-1)`` weighted variance).

Confidence intervals: for means, totals and ratios a normal quantile, as R's ``confint.svystat``;
for proportions R's ``svyciprop`` intervals with a t quantile on the domain's design degrees of
freedom (PSUs minus strata with respondents in the domain). Missing values are dropped as R's
``na.rm=TRUE`` (zero weight, full design kept).

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, ch. 2-3.
Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed. CRC, sections 4.1-4.3 and 9.1.
Woodruff, R. S. (1971). A simple method for approximating the variance of a complicated estimate.
*JASA* 66, 411-414.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from analysis.domains import Domains
from analysis.errors import DesignError
from analysis.intervals import proportion_ci
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.policies import CIMethod, coerce
from analysis.results import Estimate
from analysis.variance import Influence

if TYPE_CHECKING:
    from analysis.design import SurveyDesign

__all__ = ["mean", "mean_of", "total", "proportion", "ratio", "numeric", "domain_sums", "design_effect"]

By = str | Sequence[str] | None


def numeric(design: SurveyDesign, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column as floats (booleans as 0/1) and its non-missing mask."""
    col = design.column(name)
    if col.dtype == bool or str(col.dtype) == "boolean":
        col = col.astype("Float64")
    try:
        y = pd.to_numeric(col, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DesignError(f"column {name!r} is not numeric; use proportion() for a categorical variable") from exc
    ok = ~np.isnan(y)
    return np.where(ok, y, 0.0), ok


def domain_sums(dom: Domains, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` within each domain."""
    return np.bincount(dom.safe_codes(), weights=dom.only_members(values), minlength=dom.size)


def _counts(design: SurveyDesign, dom: Domains, ok: np.ndarray) -> np.ndarray:
    return domain_sums(dom, ((design.weights != 0) & ok).astype(float))


def _srs_variance(dom: Domains, w: np.ndarray, resid: np.ndarray, wsum: np.ndarray, n: np.ndarray) -> np.ndarray:
    """R's ``svyvar``: weighted variance with the ``n/(n-1)`` factor, per domain."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return domain_sums(dom, w * resid**2) / wsum * n / (n - 1)


def design_effect(v: np.ndarray, s2: np.ndarray, wsum: np.ndarray, n: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Variance ``v`` over the simple-random-sampling variance ``s2 scale (N - n) / (N n)`` (R's deff)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        vsrs = s2 * scale * (wsum - n) / (wsum * n)
        return np.where(wsum >= n, v / vsrs, np.nan)


def _finish(design, dom, est, infl, deff_s2, wsum, n, scale, statistic, level, keys=None) -> Estimate:
    v = design.vcov(infl)
    deff = design_effect(np.diag(v), deff_s2, wsum, n, scale)
    return Estimate.from_vcov(dom.keys if keys is None else keys, est, v, n, statistic, level, deff)


def _weighted(design: SurveyDesign, dom: Domains, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What every estimator starts from: the weights of the rows in ``dom`` that are valid (``ok``; 0 elsewhere),
    each row's domain code, and each domain's sum of weights."""
    w = np.where(ok if dom.complete else ok & dom.member, design.weights, 0.0)
    codes = dom.safe_codes()
    return w, codes, np.bincount(codes, weights=w, minlength=dom.size)


def mean(design: SurveyDesign, variable: str, by: By = None, level: float = 0.95) -> Estimate:
    """Weighted mean per domain with its linearised variance (R's ``svyby(~y, ~by, des, svymean)``)."""
    y, ok = numeric(design, variable)
    return mean_of(design, y, ok, design.domains(by), level)


def mean_of(design: SurveyDesign, y: np.ndarray, ok: np.ndarray, dom: Domains, level: float = 0.95) -> Estimate:
    """:func:`mean` of an array ``y`` (valid where ``ok``) over the domains ``dom``."""
    w, codes, wsum = _weighted(design, dom, ok)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.bincount(codes, weights=w * y, minlength=dom.size) / wsum
        resid = y - est[codes]
        z = w * resid / wsum[codes]
    n = _counts(design, dom, ok)
    s2 = _srs_variance(dom, w, resid, wsum, n)
    infl = Influence(np.where(w > 0, z, 0.0)[:, None], codes, dom.size)
    return _finish(design, dom, est, infl, s2, wsum, n, np.ones(dom.size), "mean", level)


def total(design: SurveyDesign, variable: str, by: By = None, level: float = 0.95) -> Estimate:
    """Weighted total per domain (R's ``svytotal``)."""
    y, ok = numeric(design, variable)
    dom = design.domains(by)
    w, codes, wsum = _weighted(design, dom, ok)
    est = np.bincount(codes, weights=w * y, minlength=dom.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = y - (est / wsum)[codes]
    n = _counts(design, dom, ok)
    s2 = _srs_variance(dom, w, resid, wsum, n)
    infl = Influence((w * y)[:, None], codes, dom.size)
    return _finish(design, dom, est, infl, s2, wsum, n, wsum**2, "total", level)


def ratio(design: SurveyDesign, numerator: str, denominator: str, by: By = None, level: float = 0.95) -> Estimate:
    """Ratio of two totals per domain (R's ``svyratio``), rows missing either variable dropped."""
    y, oky = numeric(design, numerator)
    x, okx = numeric(design, denominator)
    ok = oky & okx
    dom = design.domains(by)
    w, codes, wsum = _weighted(design, dom, ok)
    xsum = np.bincount(codes, weights=w * x, minlength=dom.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.bincount(codes, weights=w * y, minlength=dom.size) / xsum
        r = (y - est[codes] * x) / xsum[codes]
        rbar = domain_sums(dom, w * r) / wsum
    n = _counts(design, dom, ok)
    s2 = _srs_variance(dom, w, r - rbar[codes], wsum, n)
    infl = Influence(np.where(w > 0, w * r, 0.0)[:, None], codes, dom.size)
    return _finish(design, dom, est, infl, s2, wsum, n, wsum**2, "ratio", level)


def proportion(design: SurveyDesign, variable: str, by: By = None, ci_method: CIMethod | str = "logit",
               level: float = 0.95) -> Estimate:
    """Share of each level of a categorical variable per domain (R's ``svymean(~factor)``, ``svyciprop``).

    Intervals: ``ci_method`` as ``svyciprop`` (``logit`` default, ``beta`` Korn-Graubard, ``xlogit``,
    ``asin``, ``wald`` = R's ``mean``) with a t quantile on the domain's design degrees of freedom; at
    0% and 100% the Korn-Graubard interval on the actual respondent count (see
    :mod:`analysis.intervals`, where this departs from R).
    """
    method = coerce(CIMethod, ci_method, "ci_method")
    col = design.column(variable)
    lcodes, levels = pd.factorize(col, sort=True, use_na_sentinel=True)
    ok = lcodes >= 0
    if not ok.any():
        raise DesignError(f"column {variable!r} has no non-missing values")
    dom = design.domains(by)
    w, codes, wsum = _weighted(design, dom, ok)
    n_levels = len(levels)
    ind = np.zeros((design.n, n_levels))
    ind[np.flatnonzero(ok), lcodes[ok]] = 1.0
    hits = np.stack([np.bincount(codes, weights=w * ind[:, j], minlength=dom.size) for j in range(n_levels)], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = hits / wsum[:, None]
        z = w[:, None] * (ind - p[codes]) / wsum[codes][:, None]
    z[w == 0] = 0.0
    v = design.vcov(Influence(z, codes, dom.size))
    est = p.reshape(-1)
    var = np.diag(v)
    n = np.repeat(_counts(design, dom, ok), n_levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = est * (1 - est) * n / (n - 1)
    deff = design_effect(var, s2, np.repeat(wsum, n_levels), n, np.ones_like(est))
    df = np.repeat(design.degf_by(dom.codes, dom.size, dom.member).astype(float), n_levels)
    rows = np.full(dom.size, float(design.n)) if design.is_calibrated else domain_sums(dom, np.ones(design.n))
    low, high = proportion_ci(method, est, var, level, df, n, np.repeat(rows, n_levels))
    keys = dom.keys.loc[dom.keys.index.repeat(n_levels)].reset_index(drop=True)
    keys[variable] = np.tile(np.asarray(levels), dom.size)
    return Estimate.from_vcov(keys, est, v, n, "proportion", level, deff, df, (low, high),
                              {"ci_method": method.value})

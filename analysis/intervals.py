"""Confidence intervals for proportions, as R's ``svyciprop``, shared by every design class.

Each method is a private helper taking the estimate, its design-based variance and the design
degrees of freedom, with the meaning it has in ``survey::svyciprop`` (survey 4.1):

* ``logit`` (default): Wald on the logit scale, ``expit(logit(p) -/+ t(df) se / (p (1 - p)))``;
  replicate designs pass the replicate standard error of ``logit(p)`` itself, as ``svyglm`` does;
* ``xlogit``: the same by the delta method on every design (``svycontrast`` of the mean);
* ``beta``: Korn and Graubard's Clopper-Pearson interval on the effective sample size
  ``p (1 - p) / var``, multiplied by ``(t(n_rows - 1) / t(df))^2``;
* ``asin``: Wald on the ``asin(sqrt(p))`` scale, squared sine back; the limits on that scale are
  kept within [0, pi/2] (R's are not, so R's interval can exclude ``p`` near 0% and 100%);
* ``wald`` (R's ``mean``): ``p -/+ t(df) se``, which can leave [0, 1], as R's.

At 0% and 100% every method above is degenerate (the variance is 0, so the effective sample size
is undefined: R returns a zero-width ``logit`` interval and ``NA`` for ``beta``). There, and in
the rare cell whose estimated variance is 0 although the share is strictly between, we depart
from R on purpose and use one rule for every method: the Korn-Graubard (Clopper-Pearson)
interval with the *actual* number of respondents ``n`` in the cell as the effective sample size
(design effect 1), df-adjusted as above when the cell has at least one design degree of freedom,
so the interval is ``[0, 1 - (alpha/2)^(1/n*)]`` at 0% and ``[(alpha/2)^(1/n*), 1]`` at 100%.
Never zero-width, always inside [0, 1]. A cell without a design degree of freedom (all its
respondents in one sampling unit) has no interval (NaN) away from the boundary, as in R.

References
----------
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small expected
numbers of positive counts estimated from survey data. *Survey Methodology* 24, 193-201.
Lumley, T. (2010). *Complex Surveys*. Wiley, section 2.3.1.
Dean, N. and Pagano, M. (2015). Evaluating confidence interval methods for binomial proportions
in clustered surveys. *J. Surv. Stat. Methodol.* 3, 484-503.
"""

from __future__ import annotations

from analysis.lazy import numpy as np
from analysis.lazy import special, stats
from analysis.policies import CIMethod
from analysis.results import critical_value, wald_ci

__all__ = ["proportion_ci", "logit_ci", "beta_ci", "boundary_ci"]


def logit_ci(p: np.ndarray, se: np.ndarray, level: float, df: np.ndarray,
             se_logit: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``svyciprop(method="logit")``: Wald on the logit scale with t(df)."""
    q = critical_value(level, df)
    with np.errstate(all="ignore"):
        eta = np.log(p / (1 - p))
        se_eta = se / (p * (1 - p)) if se_logit is None else se_logit
        return special.expit(eta - q * se_eta), special.expit(eta + q * se_eta)


def beta_ci(p: np.ndarray, var: np.ndarray, level: float, df: np.ndarray,
            n_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``svyciprop(method="beta")``: Korn-Graubard, effective n, df-adjusted, Clopper-Pearson."""
    alpha = 1 - level
    with np.errstate(all="ignore"):
        n_eff = p * (1 - p) / var
        n_eff = n_eff * (stats.t.ppf(alpha / 2, n_rows - 1) / stats.t.ppf(alpha / 2, df)) ** 2
        low = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
        high = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
    # with a vanishing variance (an effective n near 1e300) the quantiles land a rounding error on the
    # wrong side of p, or scipy's beta quantile gives up (NaN) although its parameters are valid: the
    # limit is p itself; an interval always holds its estimate (a NaN from invalid parameters stays NaN)
    with np.errstate(all="ignore"):
        valid = np.isfinite(n_eff) & (n_eff * p > 0) & (n_eff * (1 - p) > 0)
    low = np.where(np.isnan(low) & valid, p, low)
    high = np.where(np.isnan(high) & valid, p, high)
    return np.where(low > p, p, low), np.where(high < p, p, high)


def _asin_ci(p: np.ndarray, se: np.ndarray, level: float, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``svyciprop(method="asin")``: Wald on ``asin(sqrt(p))`` (delta-method SE), squared sine back.

    The limits on the ``asin`` scale are kept within [0, pi/2] (R's are not, so its interval can
    exclude ``p`` or turn over near 0% and 100%); where they are inside, the result is R's.
    """
    q = critical_value(level, df)
    with np.errstate(all="ignore"):
        centre = np.arcsin(np.sqrt(p))
        se_t = se / (2 * np.sqrt(p * (1 - p)))
        lo, hi = np.clip(centre - q * se_t, 0, np.pi / 2), np.clip(centre + q * se_t, 0, np.pi / 2)
        return np.sin(lo) ** 2, np.sin(hi) ** 2


def boundary_ci(p: np.ndarray, n: np.ndarray, level: float, df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Korn-Graubard with the actual respondent count ``n`` as effective sample size (module docstring).

    Used where the design-based effective sample size is undefined: at 0% and 100%, and where the
    estimated variance is 0 (every unit has the same share).
    """
    alpha = 1 - level
    n = np.asarray(n, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), n.shape)
    with np.errstate(all="ignore"):
        factor = (stats.t.ppf(alpha / 2, n - 1) / stats.t.ppf(alpha / 2, np.where(df >= 1, df, np.nan))) ** 2
        n_eff = np.where((n > 1) & (df >= 1) & np.isfinite(factor), n * factor, n)
        n_eff = np.where(n > 0, n_eff, np.nan)
        # a share so small that its beta shape is subnormal (p = 5e-324) has a lower bound of 0 to the last digit,
        # and Boost's beta function fails on such a shape (an OverflowError, or NaN): the bound is 0 there
        shape = n_eff * p
        vanishing = ~(shape >= np.finfo(float).tiny)
        low = np.where((p <= 0) | vanishing, 0.0,
                       stats.beta.ppf(alpha / 2, np.where(vanishing, 1.0, shape), n_eff * (1 - p) + 1))
        high = np.where(p >= 1, 1.0, stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p)))
    # a share a rounding error above 0% (or below 100%) lands outside its own quantile; an interval
    # always holds its estimate, as in beta_ci
    low, high = np.where(low > p, p, low), np.where(high < p, p, high)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def proportion_ci(method: CIMethod, p: np.ndarray, var: np.ndarray, level: float, df: np.ndarray,
                  n: np.ndarray, n_rows: np.ndarray, se_logit: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Interval of ``method`` for shares ``p`` with variances ``var``; the boundary rule at 0% and 100%.

    ``n`` is the respondent count per cell (the boundary rule), ``n_rows`` the rows of the domain
    (R's ``nrow(design)`` of the subset, used by ``beta``); ``se_logit`` the replicate standard
    error of ``logit(p)`` (replicate designs' ``logit``).
    """
    p = np.asarray(p, dtype=float)
    df = np.broadcast_to(np.asarray(df, dtype=float), p.shape)
    se = np.sqrt(np.clip(var, 0, None))
    if method is CIMethod.LOGIT:
        low, high = logit_ci(p, se, level, df, se_logit)
    elif method is CIMethod.XLOGIT:
        low, high = logit_ci(p, se, level, df)
    elif method is CIMethod.BETA:
        low, high = beta_ci(p, var, level, df, np.broadcast_to(np.asarray(n_rows, dtype=float), p.shape))
    elif method is CIMethod.ASIN:
        low, high = _asin_ci(p, se, level, df)
    else:
        low, high = wald_ci(p, se, level, df)
    edge = (p <= 0) | (p >= 1) | (np.asarray(var) <= 0)
    if edge.any():
        b_low, b_high = boundary_ci(p, np.broadcast_to(np.asarray(n, dtype=float), p.shape), level, df)
        low, high = np.where(edge, b_low, low), np.where(edge, b_high, high)
    return low, high

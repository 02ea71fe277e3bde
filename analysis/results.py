"""The two result shapes of the analysis layer, the interval helper and the reliability rule.

Every estimator (mean, total, proportion, ratio, quantile, the left-behind cells, the D-index, the
tree's leaves) returns an :class:`Estimate`; every test (Rao-Scott chi-square, t-test, domain
test, the left-behind gap) returns a :class:`SignificanceTest`. Each has one ``to_frame`` that
gives the contract's columns (the ``by`` columns, then ``estimate, se, ci_low, ci_high, ...``), as
R's ``svystat`` accessors (``coef``, ``SE``, ``confint``, ``deff``, ``cv``) and ``svyby``'s
``unwrap`` do; scipy's ``TtestResult`` is the model for the test.

``est -/+ q se`` is written once, in :func:`wald_ci`; the reliability rule (fewer than 30
respondents, or a coefficient of variation above 30%) once, in :func:`reliability`.

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, section 2.3 (confidence intervals).
Parker, J. D. et al. (2017). NCHS data presentation standards for proportions. *Vital Health Stat* 2(175).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import stats

__all__ = ["Estimate", "SignificanceTest", "wald_ci", "critical_value", "reliability", "MIN_N", "MAX_CV"]

MIN_N = 30  #: fewer respondents than this: too few for an estimate to stand (NCHS)
MAX_CV = 0.3  #: a relative standard error above this: the estimate is unreliable (NCHS)


def critical_value(level: float, df: float | np.ndarray = math.inf) -> np.ndarray:
    """Two-sided critical value: normal when ``df`` is infinite, else Student t with ``df``."""
    if not 0 < level < 1:
        raise DesignError(f"level={level!r} must be strictly between 0 and 1")
    df = np.asarray(df, dtype=float)
    upper = 1 - (1 - level) / 2
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(df), stats.norm.ppf(upper), stats.t.ppf(upper, np.where(df > 0, df, np.nan)))


def wald_ci(est, se, level: float, df: float | np.ndarray = math.inf):
    """``est -/+ q * se`` with ``q`` from :func:`critical_value`; R's ``confint.svystat`` uses the
    normal quantile (df = Inf)."""
    q = critical_value(level, df)
    return est - q * se, est + q * se


def reliability(n, cv, min_n: int = MIN_N, max_cv: float = MAX_CV) -> np.ndarray:
    """The NCHS presentation rule, one label per cell: ``"suppressed"`` when fewer than ``min_n``
    respondents (too few to show), else ``"unreliable"`` when the cv exceeds ``max_cv``, else ``"ok"``."""
    n, cv = np.asarray(n), np.asarray(cv)
    return np.where(n < min_n, "suppressed", np.where(cv > max_cv, "unreliable", "ok"))


def _column(values, size: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(values), (size,))


@dataclass(frozen=True)
class Estimate:
    """Estimates with their design-based uncertainty; one row per domain (and level).

    Attributes
    ----------
    keys : DataFrame
        The ``by`` columns (and the level column of a proportion) for each estimate.
    estimate, se : arrays
        Point estimates and standard errors.
    n, df : arrays
        Unweighted respondent counts (None where a count means nothing, as for the D-index) and the
        degrees of freedom of the interval (``inf`` for a normal quantile).
    ci_low, ci_high : arrays
        Confidence limits at ``level``.
    vcov : array, optional
        The variance matrix, where the estimator has one (kept in ``attrs["vcov"]``).
    deff : array, optional
        Design effects (R's ``deff=TRUE``); the column is left out when None.
    extra : dict
        Further columns, in order, after the standard ones.
    """

    keys: pd.DataFrame
    estimate: np.ndarray
    se: np.ndarray
    n: np.ndarray | None
    df: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    statistic: str
    level: float = 0.95
    vcov: np.ndarray | None = None
    deff: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_vcov(cls, keys: pd.DataFrame, estimate: np.ndarray, vcov: np.ndarray, n: np.ndarray, statistic: str,
                  level: float, deff: np.ndarray | None = None, df: np.ndarray | None = None,
                  ci: tuple[np.ndarray, np.ndarray] | None = None, extra: dict | None = None) -> Estimate:
        """An estimate from its variance matrix (or only its variances, a 1-d array: then no
        covariances are kept); a Wald interval on ``df`` (normal when None) unless ``ci`` gives one."""
        se = np.sqrt(np.clip(np.diag(vcov) if vcov.ndim == 2 else vcov, 0, None))
        vcov = vcov if vcov.ndim == 2 else None
        df = np.full(len(estimate), np.inf) if df is None else df
        low, high = wald_ci(estimate, se, level) if ci is None else ci
        return cls(keys, estimate, se, n, df, low, high, statistic, level, vcov, deff, extra or {})

    @property
    def cv(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.se / np.abs(self.estimate)

    def to_frame(self, name: str = "estimate", columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The contract's frame: keys, ``estimate`` (or ``name``), se, ci_low, ci_high, deff, n, cv,
        df, then ``extra``; ``columns`` keeps only those (in that order)."""
        keys = self.keys.reset_index(drop=True)
        size = len(self.estimate)
        data = {key: keys[key] for key in keys.columns}  # built as one frame: a column at a time costs more
        data.update({name: self.estimate, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high})
        if self.deff is not None:
            data["deff"] = self.deff
        if self.n is not None:
            data["n"] = np.asarray(self.n).astype(np.int64)
        data["cv"] = self.cv
        data["df"] = _column(self.df, size)
        data.update(self.extra)
        out = pd.DataFrame(data, index=keys.index)
        if columns is not None:
            out = out[list(columns)]
        out.attrs["statistic"] = self.statistic
        out.attrs["level"] = self.level
        if self.vcov is not None:
            out.attrs["vcov"] = self.vcov
        return out


@dataclass(frozen=True)
class SignificanceTest:
    """A test statistic with its reference distribution's degrees of freedom and p-value; for a
    difference (t-tests), its estimate, standard error and confidence interval too.

    ``ddf`` is set for an F statistic (``df`` is then the numerator's, named ``ndf`` in the frame).
    """

    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    keys: pd.DataFrame | None = None
    estimate: np.ndarray | None = None
    se: np.ndarray | None = None
    ci_low: np.ndarray | None = None
    ci_high: np.ndarray | None = None
    ddf: np.ndarray | None = None
    method: str = ""

    @classmethod
    def t(cls, estimate, se, df, level: float, keys: pd.DataFrame | None = None) -> SignificanceTest:
        """Student t test of ``estimate = 0`` with standard error ``se`` on ``df`` degrees of
        freedom, with the matching interval (as R's ``svyttest`` and ``svycontrast``)."""
        statistic = estimate / se
        p_value = 2 * stats.t.sf(np.abs(statistic), df)
        low, high = wald_ci(estimate, se, level, df)
        return cls(statistic, df, p_value, keys, estimate, se, low, high)

    def to_frame(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Keys, then estimate, se, ci_low, ci_high (for a difference), statistic, df (or ndf, ddf),
        p_value; ``columns`` keeps only those (in that order)."""
        values = {}
        if self.estimate is not None:
            values.update(estimate=self.estimate, se=self.se, ci_low=self.ci_low, ci_high=self.ci_high)
        values["statistic"] = self.statistic
        if self.ddf is None:
            values["df"] = self.df
        else:
            values.update(ndf=self.df, ddf=self.ddf)
        values["p_value"] = self.p_value
        size = len(np.atleast_1d(self.statistic))
        out = pd.DataFrame({k: _column(v, size) for k, v in values.items()})
        if self.keys is not None:
            out = pd.concat([self.keys.reset_index(drop=True), out], axis=1)
        if columns is not None:
            out = out[list(columns)]
        if self.method:
            out.attrs["method"] = self.method
        return out

"""One result shape for every estimator, and the confidence-interval helpers.

An :class:`Estimate` holds point estimates with their variance matrix, design effects, counts and
degrees of freedom; :meth:`Estimate.to_frame` gives the contract columns (the ``by`` columns, a
level column for proportions, ``estimate, se, ci_low, ci_high, deff, n, cv``), as R's ``svystat``
accessors (``coef``, ``SE``, ``confint``, ``deff``, ``cv``) and ``svyby``'s ``unwrap`` do.

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, section 2.3 (confidence intervals).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["Estimate", "wald_ci", "critical_value"]


def critical_value(level: float, df: float | np.ndarray = np.inf) -> np.ndarray:
    """Two-sided critical value: normal when ``df`` is infinite, else Student t with ``df``."""
    if not 0 < level < 1:
        from analysis.errors import DesignError
        raise DesignError(f"level={level!r} must be strictly between 0 and 1")
    df = np.asarray(df, dtype=float)
    upper = 1 - (1 - level) / 2
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(df), stats.norm.ppf(upper), stats.t.ppf(upper, np.where(df > 0, df, np.nan)))


def wald_ci(est: np.ndarray, se: np.ndarray, level: float, df: float | np.ndarray = np.inf):
    """``est -/+ q * se``; R's ``confint.svystat`` uses the normal quantile (df = Inf)."""
    q = critical_value(level, df)
    return est - q * se, est + q * se


@dataclass(frozen=True)
class Estimate:
    """Estimates with their design-based variance; one row per domain (and level).

    Attributes
    ----------
    keys : DataFrame
        The ``by`` columns (and the level column of a proportion) for each estimate.
    estimate, vcov, deff, n : arrays
        Point estimates, their variance matrix, design effects (R's ``deff=TRUE``) and unweighted
        respondent counts.
    df : array
        Degrees of freedom used for the interval (``inf`` for a normal quantile).
    ci_low, ci_high : arrays
        Confidence limits at ``level``.
    """

    keys: pd.DataFrame
    estimate: np.ndarray
    vcov: np.ndarray
    deff: np.ndarray
    n: np.ndarray
    df: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    statistic: str
    level: float = 0.95
    extra: dict = field(default_factory=dict)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0, None))

    @property
    def cv(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.se / np.abs(self.estimate)

    def to_frame(self) -> pd.DataFrame:
        out = self.keys.reset_index(drop=True).copy()
        out["estimate"] = self.estimate
        out["se"] = self.se
        out["ci_low"] = self.ci_low
        out["ci_high"] = self.ci_high
        out["deff"] = self.deff
        out["n"] = self.n.astype(np.int64)
        out["cv"] = self.cv
        out["df"] = self.df
        for name, values in self.extra.items():
            out[name] = values
        out.attrs["statistic"] = self.statistic
        out.attrs["level"] = self.level
        out.attrs["vcov"] = self.vcov
        return out

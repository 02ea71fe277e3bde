"""Generalised variance function (GVF) for direct estimates of small wards, before a Fay–Herriot fit.

A ward with a handful of respondents has a noisy direct variance, and one with a single respondent,
or a share of exactly 0 or 1, has none at all (ψ̂ = 0 would give the direct estimate full weight and a
false MSE of 0). The GVF used here is the simplest one a statistics office would recognise: the
sampling variance of a ward mean is a pooled per-respondent variance (unit variance × design effect)
divided by the ward's sample size,

    ψ̃_d = c / n_d,   c = Σ_d (n_d − 1) · n_d ψ̂_d / Σ_d (n_d − 1)   over wards with n_d ≥ 2,

the degrees-of-freedom-weighted pool of n_d ψ̂_d (wards with ψ̂_d = 0 count: a share of 0 in a small ward
is a legitimate draw). For shares, the pooled design effect is c over the pooled unit variance,
deff = c / [Σ (n_d − 1) v_d / Σ (n_d − 1)] with v_d = p̂_d(1 − p̂_d) n_d/(n_d − 1), and the effective
sample size ñ_d = n_d / deff feeds the arcsine transform (ψ* = 1/(4ñ), independent of p̂).
Every ward keeps a code saying where its variance came from; none is dropped.

References
----------
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., ch. 7 (generalised variance functions).
You, Y. (2021). Small area estimation using Fay-Herriot area level model with sampling variance smoothing and
modeling. *Survey Methodology* 47(2).
Jiang, J., Lahiri, P., Wan, S.-M. and Wu, C.-H. (2001). Jackknifing in the Fay–Herriot model with an example.
(effective sample size for the arcsine transform.)
"""

from __future__ import annotations

from typing import Literal

from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd

__all__ = ["smooth_variances", "VARIANCE_SOURCES"]

# Codes in the ``variance_source`` column: kept the direct variance, or replaced it with the GVF (and why).
VARIANCE_SOURCES = ("direct", "gvf", "gvf_one_respondent", "gvf_zero_variance", "gvf_missing_variance", "no_sample")


def smooth_variances(data: pd.DataFrame, estimate: str, variance: str, n: str, *,
                     replace: Literal["all", "unusable"] = "all", share: bool = False) -> pd.DataFrame:
    """A copy of ``data`` with ``var_smoothed``, ``variance_source`` (and ``n_effective`` for shares).

    Parameters
    ----------
    data : DataFrame
        One row per ward: the direct ``estimate`` (NaN with no sample), its ``variance`` and the number
        of respondents ``n``.
    replace : "all" (default) or "unusable"
        Replace every ward's variance by the GVF (as You 2021 recommends: the raw ψ̂ of a small ward is
        itself an estimate, correlated with its direct estimate), or only the wards whose variance is
        missing or ≤ 0 (one respondent, a share of 0 or 1).
    share : bool
        The estimate is a share: also return the pooled design effect's ``n_effective`` = n / deff.

    The pooled constants are in ``result.attrs["gvf"]`` (``per_respondent_variance``, ``deff``, ``wards_pooled``).
    """
    if replace not in ("all", "unusable"):
        raise DesignError(f"replace={replace!r} must be 'all' or 'unusable'")
    for column in (estimate, variance, n):
        if column not in data.columns:
            raise DesignError(f"column {column!r} not in the data")
    p = pd.to_numeric(data[estimate], errors="coerce").to_numpy(dtype=float)
    psi = pd.to_numeric(data[variance], errors="coerce").to_numpy(dtype=float)
    size = pd.to_numeric(data[n], errors="coerce").fillna(0).to_numpy(dtype=float)
    sampled = ~np.isnan(p) & (size >= 1)
    pool = sampled & (size >= 2) & np.isfinite(psi) & (psi >= 0)
    if pool.sum() < 2:
        raise DesignError("the variance function needs at least two wards with two or more respondents")
    dof = size[pool] - 1
    c = float(np.sum(dof * size[pool] * psi[pool]) / np.sum(dof))
    smoothed = np.where(sampled, c / np.where(size > 0, size, np.nan), np.nan)
    source = np.full(len(data), "no_sample", dtype=object)
    source[sampled] = "gvf" if replace == "all" else "direct"
    for mask, code in ((sampled & ~np.isfinite(psi), "gvf_missing_variance"),
                       (sampled & np.isfinite(psi) & (psi <= 0), "gvf_zero_variance"),
                       (sampled & (size == 1), "gvf_one_respondent")):
        source[mask] = code
    keep = source == "direct"
    out = data.copy()
    out["var_smoothed"] = np.where(keep, psi, smoothed)
    out["variance_source"] = source
    attrs = {"per_respondent_variance": c, "wards_pooled": int(pool.sum())}
    if share:
        if np.any((p[sampled] < 0) | (p[sampled] > 1)):
            raise DesignError(f"share=True needs estimates between 0 and 1 in column {estimate!r}")
        unit = p[pool] * (1 - p[pool]) * size[pool] / dof
        deff = c / float(np.sum(dof * unit) / np.sum(dof))
        out["n_effective"] = np.where(sampled, size / deff, np.nan)
        attrs["deff"] = deff
    out.attrs["gvf"] = attrs
    return out

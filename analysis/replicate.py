"""Replicate-weight designs: jackknife (JK1, JKn) and bootstrap, as R's ``svrepdesign`` / ``as.svrepdesign``.

A :class:`ReplicateDesign` holds the full-sample weights and an ``n x R`` matrix of replicate
weights; every estimate is recomputed with each replicate and the variance is

.. math:: v = \\text{scale} \\sum_r \\text{rscale}_r (\\hat\\theta_r - \\bar\\theta)^2,

with :math:`\\bar\\theta` the mean of the replicates (R's default ``mse=FALSE``) or the full-sample
estimate (``mse=True``). :meth:`ReplicateDesign.from_design` builds the weights from a
:class:`~analysis.design.SurveyDesign` as ``as.svrepdesign`` does: JK1 drops one PSU at a time
(unstratified; scale ``(n-1)/n`` times the first-stage fpc), JKn drops one PSU within its stratum
(``rscales`` ``(n_h-1)/n_h``), and the Rao-Wu rescaling bootstrap resamples ``n_h - 1`` PSUs per
stratum with a local ``numpy.random.Generator``.

References
----------
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer, ch. 4-5.
Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex survey data. *JASA* 83, 231-241.
Lumley, T. (2010). *Complex Surveys*. Wiley, section 2.5.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.design import SurveyDesign
from analysis.domains import domains
from analysis.errors import DesignError
from analysis.estimators import numeric
from analysis.hypothesis import TTEST_COLUMNS
from analysis.intervals import proportion_ci
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.lazy import sparse as sp
from analysis.policies import CIMethod, QuantileRule, ReplicateType, coerce
from analysis.quantiles import weighted_quantile
from analysis.results import Estimate, SignificanceTest

__all__ = ["ReplicateDesign"]


def _first_appearance(codes: np.ndarray) -> np.ndarray:
    """Relabel codes in order of first appearance (R's ``unique()`` order)."""
    _, first = np.unique(codes, return_index=True)
    order = np.argsort(first, kind="stable")
    relabel = np.empty(len(order), dtype=np.int64)
    relabel[np.unique(codes)[order]] = np.arange(len(order))
    return relabel[codes]


def _jackknife_factors(design: SurveyDesign, stratified: bool) -> tuple[np.ndarray, np.ndarray, float]:
    stage = design.stages[0]
    unit = _first_appearance(stage.unit)
    unit_stratum = np.empty(unit.max() + 1, dtype=np.int64)
    unit_stratum[unit] = stage.unit_stratum[stage.unit]
    n_h = stage.n_units[unit_stratum].astype(float)
    fpc = stage.fraction_complement()[unit_stratum]
    if np.any(n_h == 1):
        raise DesignError("a stratum has a single PSU; jackknife replicates need two or more per stratum")
    n_units = len(unit_stratum)
    factors = np.where(unit_stratum[:, None] == unit_stratum[None, :], n_h[:, None] / (n_h[:, None] - 1), 1.0)
    factors[np.arange(n_units), np.arange(n_units)] = 0.0
    rscales = fpc * (n_h - 1) / n_h
    if not stratified:
        return factors[unit], np.ones(n_units), float(rscales[0])
    stratum_rank = _first_appearance(stage.unit_stratum[stage.unit])
    rank_of_unit = np.empty(n_units, dtype=np.int64)
    rank_of_unit[unit] = stratum_rank
    columns = np.argsort(rank_of_unit, kind="stable")  # replicates grouped by stratum, as R's jknweights
    return factors[unit][:, columns], rscales[columns], 1.0


def _bootstrap_factors(design: SurveyDesign, replicates: int, rng: np.random.Generator):
    stage = design.stages[0]
    n_h = stage.n_units
    factors = np.zeros((stage.n_unit_codes, replicates))
    for h in range(stage.n_strata):  # loop over strata, not rows: Rao-Wu needs a draw per stratum
        members = np.flatnonzero(stage.unit_stratum == h)
        draws = rng.integers(0, len(members), size=(max(len(members) - 1, 1), replicates))
        counts = np.stack([np.bincount(draws[:, r], minlength=len(members)) for r in range(replicates)], 1)
        factors[members] = counts * len(members) / max(len(members) - 1, 1)
    psu_per_stratum = 1 / np.mean(1 / n_h)
    scale = psu_per_stratum / ((psu_per_stratum - 1) * (replicates - 1))
    return factors[stage.unit], np.ones(replicates), scale


class ReplicateDesign:
    """A survey design with replicate weights (same estimator methods as :class:`SurveyDesign`).

    Parameters
    ----------
    data : DataFrame
    weights : str or ndarray
        Full-sample weights (column name or array).
    repweights : ndarray (n, R) or list of column names
        Replicate weights, already multiplied by the full-sample weights (R's ``combined.weights=TRUE``).
    scale, rscales : float, array
        Variance multipliers (R's ``scale`` and ``rscales``).
    mse : bool
        Centre the replicates on the full-sample estimate instead of their mean.
    """

    def __init__(self, data: pd.DataFrame, weights: str | np.ndarray, repweights: np.ndarray | Sequence[str],
                 scale: float, rscales: np.ndarray | None = None, mse: bool = False, kind: str = "custom") -> None:
        self.data = data
        self.weights = np.asarray(data[weights] if isinstance(weights, str) else weights, dtype=float)
        rw = data[list(repweights)].to_numpy(float) if isinstance(repweights, Sequence) and isinstance(
            repweights[0], str) else np.asarray(repweights, dtype=float)
        if rw.shape[0] != len(data):
            raise DesignError(f"repweights has {rw.shape[0]} rows but data has {len(data)}")
        self.repweights = rw
        self.scale = float(scale)
        self.rscales = np.ones(rw.shape[1]) if rscales is None else np.asarray(rscales, dtype=float)
        self.mse = mse
        self.kind = kind

    @classmethod
    def from_design(cls, design: SurveyDesign, type: ReplicateType | str = "JK1", replicates: int = 50,
                    rng: np.random.Generator | None = None, mse: bool = False) -> ReplicateDesign:
        """Replicate weights for ``design`` (R's ``as.svrepdesign``); first-stage fpc only."""
        kind = coerce(ReplicateType, type, "type")
        stratified = design.stages[0].n_strata > 1
        if kind is ReplicateType.JK1 and stratified:
            raise DesignError("type='JK1' is for unstratified designs; use 'JKn' or 'bootstrap'")
        if kind is ReplicateType.JKN and not stratified:
            raise DesignError("type='JKn' needs strata; use 'JK1' or 'bootstrap'")
        if kind is ReplicateType.BOOTSTRAP:
            factors, rscales, scale = _bootstrap_factors(design, replicates, rng or np.random.default_rng())
        else:
            factors, rscales, scale = _jackknife_factors(design, kind is ReplicateType.JKN)
        return cls(design.data, design.weights, factors * design.weights[:, None], scale, rscales, mse, kind.value)

    @property
    def n(self) -> int:
        return len(self.data)

    def degf(self) -> int:
        """R's ``degf`` for replicate designs: rank of the replicate weights minus one."""
        return int(np.linalg.matrix_rank(self.repweights)) - 1

    def _all_weights(self) -> np.ndarray:
        return np.column_stack([self.weights, self.repweights])

    def _variance(self, thetas: np.ndarray) -> np.ndarray:
        """``thetas`` (p, 1 + R): full-sample column first. Returns the p x p variance matrix."""
        full, reps = thetas[:, 0], thetas[:, 1:]
        centre = full if self.mse else reps[:, self.rscales > 0].mean(axis=1)
        dev = (reps - centre[:, None]) * np.sqrt(self.rscales)[None, :]
        return self.scale * dev @ dev.T

    def _indicator(self, by, ok: np.ndarray):
        dom = domains(self.data, by)
        rows = np.flatnonzero(dom.member & ok)
        ind = sp.csr_matrix((np.ones(len(rows)), (dom.codes[rows], rows)), shape=(dom.size, self.n))
        return dom, ind

    def _estimate(self, dom, est_all: np.ndarray, counts: np.ndarray, statistic: str, level: float,
                  keys=None, extra=None) -> Estimate:
        v = self._variance(est_all)
        est = est_all[:, 0]
        return Estimate.from_vcov(dom.keys if keys is None else keys, est, v, counts, statistic, level,
                                  np.full(len(est), np.nan), extra=extra)

    def _sums(self, by, variable: str):
        y, ok = numeric(self, variable)
        dom, ind = self._indicator(by, ok)
        w = self._all_weights()
        return dom, ind @ (w * y[:, None]), ind @ w, np.asarray(ind.sum(axis=1)).ravel()

    def column(self, name: str) -> pd.Series:
        if name not in self.data.columns:
            raise DesignError(f"column {name!r} is not in the data")
        return self.data[name]

    def mean(self, variable: str, by=None, level: float = 0.95) -> pd.DataFrame:
        dom, s, w, n = self._sums(by, variable)
        return self._estimate(dom, s / w, n, "mean", level).to_frame()

    def total(self, variable: str, by=None, level: float = 0.95) -> pd.DataFrame:
        dom, s, _, n = self._sums(by, variable)
        return self._estimate(dom, s, n, "total", level).to_frame()

    def ratio(self, numerator: str, denominator: str, by=None, level: float = 0.95) -> pd.DataFrame:
        y, oky = numeric(self, numerator)
        x, okx = numeric(self, denominator)
        dom, ind = self._indicator(by, oky & okx)
        w = self._all_weights()
        est = (ind @ (w * y[:, None])) / (ind @ (w * x[:, None]))
        return self._estimate(dom, est, np.asarray(ind.sum(axis=1)).ravel(), "ratio", level).to_frame()

    def ttest(self, variable: str, group: str, level: float = 0.95) -> pd.DataFrame:
        """Difference of the group means (second level minus first), replicate SE, t on ``degf - 1``."""
        codes, levels = pd.factorize(self.column(group), sort=True, use_na_sentinel=True)
        if len(levels) != 2:
            raise DesignError(f"group {group!r} must have exactly 2 levels for a t-test, it has {len(levels)}")
        dom, s, w, _ = self._sums(group, variable)
        means = s / w
        diff = means[1:2] - means[0:1]
        se = float(np.sqrt(self._variance(diff)[0, 0]))
        est, df = float(diff[0, 0]), float(self.degf() - 1)
        return SignificanceTest.t(np.array([est]), np.array([se]), df, level).to_frame(TTEST_COLUMNS)

    def quantile(self, variable: str, q: float | Sequence[float] = 0.5, by=None, rule: QuantileRule | str = "math",
                 level: float = 0.95) -> pd.DataFrame:
        """Quantile(s) per domain (``rule`` as :func:`analysis.quantiles.weighted_quantile`) with the
        replicate SE of the quantile itself and a Wald interval.

        (R's ``svyquantile`` on replicate designs defaults to a Woodruff interval instead; this
        direct replicate variance is the simpler and more common choice for jackknife-free designs.)
        """
        rule = coerce(QuantileRule, rule, "rule")
        y, ok = numeric(self, variable)
        dom, _ = self._indicator(by, ok)
        w = self._all_weights()
        n = np.bincount(dom.safe_codes(), weights=(dom.member & ok).astype(float), minlength=dom.size)
        frames = []
        for p in [float(q)] if np.isscalar(q) else [float(v) for v in q]:
            est_all = np.array([[weighted_quantile(y[(dom.codes == k) & ok], w[(dom.codes == k) & ok, r], p, rule)
                                 for r in range(w.shape[1])] for k in range(dom.size)])
            out = self._estimate(dom, est_all, n, "quantile", level).to_frame()
            out.insert(len(dom.keys.columns), "q", p)
            out.attrs = {}  # per-q variance matrices do not stack; the statistic is set below
            frames.append(out)
        result = pd.concat(frames, ignore_index=True)
        result.attrs["statistic"] = f"quantile ({rule.value} rule, replicate SE)"
        return result

    def degf_by(self, dom) -> np.ndarray:
        """``degf`` of each domain as ``svyby`` gets it: rank of the domain rows' replicate weights minus one."""
        return np.array([np.linalg.matrix_rank(self.repweights[dom.codes == k]) - 1 for k in range(dom.size)],
                        dtype=float)

    def proportion(self, variable: str, by=None, ci_method: CIMethod | str = "logit",
                   level: float = 0.95) -> pd.DataFrame:
        """Share of each level per domain with replicate variances and ``svyciprop`` intervals.

        ``logit`` uses the replicate variance of ``logit(p)`` itself (R fits ``svyglm`` to every
        replicate); the other methods use the replicate variance of ``p`` (see :mod:`analysis.intervals`).
        """
        method = coerce(CIMethod, ci_method, "ci_method")
        codes, levels = pd.factorize(self.column(variable), sort=True, use_na_sentinel=True)
        dom, ind = self._indicator(by, codes >= 0)
        w = self._all_weights()
        denom = ind @ w
        with np.errstate(divide="ignore", invalid="ignore"):  # a replicate can drop a domain's only unit
            shares = [(ind @ (w * (codes == j)[:, None])) / denom for j in range(len(levels))]
        est_all = np.stack(shares, axis=1).reshape(dom.size * len(levels), -1)
        keys = dom.keys.loc[dom.keys.index.repeat(len(levels))].reset_index(drop=True)
        keys[variable] = np.tile(np.asarray(levels), dom.size)
        n = np.repeat(np.asarray(ind.sum(axis=1)).ravel(), len(levels))
        df = np.repeat(self.degf_by(dom) if by else np.array([float(self.degf())]), len(levels))
        rows = np.repeat(np.bincount(dom.safe_codes(), weights=dom.member.astype(float), minlength=dom.size),
                         len(levels))
        v = self._variance(est_all)
        est = est_all[:, 0]
        se_logit = None
        if method is CIMethod.LOGIT:
            with np.errstate(divide="ignore", invalid="ignore"):
                se_logit = np.sqrt(np.diag(self._variance(np.log(est_all / (1 - est_all)))))
        low, high = proportion_ci(method, est, np.diag(v), level, df, n, rows, se_logit)
        return Estimate.from_vcov(keys, est, v, n, "proportion", level, np.full(len(est), np.nan), df, (low, high),
                                  {"ci_method": method.value}).to_frame()

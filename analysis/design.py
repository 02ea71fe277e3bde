"""The survey design object: weights, strata, clusters and finite-population corrections.

``SurveyDesign`` is built and validated once, as R's ``svydesign``, and is immutable: weighting
(post-stratification, raking, calibration) returns a new design. Estimators live in
:mod:`analysis.estimators`; the variance of every estimator comes from :mod:`analysis.variance`.

Design conventions follow R's ``survey`` package (``svydesign(ids=, strata=, weights=, fpc=)``):

* ``psu`` names the cluster column at each stage; without it each row is its own unit.
* ``fpc`` gives, per stage, the population number of units in the stratum (all values >= 1) or
  the sampling fraction (all values <= 1), as R's ``as.fpc``. Without ``fpc`` the first stage is
  treated as sampled with replacement (ultimate-cluster variance).
* Stage-2 strata are nested in stage-1 units (R's ``interaction(strata, ids[, 1])``).

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2-3.
Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed. CRC, ch. 3, 5, 6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis import calibration, estimators, hypothesis, quantiles
from analysis.errors import DesignError
from analysis.policies import LonelyPSU, coerce
from analysis.variance import Influence, Stage, multistage_vcov

__all__ = ["SurveyDesign", "as_list"]


def as_list(names: str | Sequence[str] | None) -> list[str]:
    """Normalise a column name, a list of names, or None, to a list."""
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    return list(names)


def _column(data: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in data.columns:
        raise DesignError(f"{role} column {name!r} is not in the data; columns are {list(data.columns)[:20]}")
    col = data[name]
    if col.isna().any():
        raise DesignError(f"missing values in {role} column {name!r}; every row needs a {role}")
    return col


def _codes(values: Any) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(np.asarray(values), sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _combine(*codes: np.ndarray) -> np.ndarray:
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        key = key * (int(c.max()) + 1 if len(c) else 1) + c
    return _codes(key)[0]


def _fpc_popsize(fpc_rows: list[np.ndarray], sampsize_rows: list[np.ndarray]) -> list[np.ndarray]:
    """Population sizes per row and stage, from counts or fractions as R's ``as.fpc``."""
    allv = np.concatenate(fpc_rows)
    is_popsize = bool(np.any(allv > 1))
    if is_popsize != bool(np.all(allv >= 1)):
        raise DesignError(f"fpc must be all >= 1 (population counts) or all <= 1 (fractions); got {allv.min()}")
    out = [f if is_popsize else n / f for f, n in zip(fpc_rows, sampsize_rows, strict=True)]
    for pop, n in zip(out, sampsize_rows, strict=True):
        if np.any(pop < n - 1e-9 * n):
            raise DesignError("fpc implies more than 100% sampling in some strata (population < sample)")
    return out


class SurveyDesign:
    """A stratified multistage survey design, analysed by Taylor linearisation.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    weights : str, optional
        Column of sampling weights (inverse inclusion probabilities); 1 for every row when None.
    strata : str or list of str, optional
        Stratum column (one per stage if a list).
    psu : str or list of str, optional
        Cluster column per stage (``["dnum", "snum"]`` for two stages). None: each row is a unit.
    fpc : str or list of str, optional
        Finite-population correction per stage: population counts or sampling fractions.
    lonely_psu : {"fail", "remove", "adjust", "certainty", "average"}
        Policy for a stratum with one PSU, as R's ``survey.lonely.psu``; default ``"fail"``.
    nest : bool
        Cluster ids repeat across strata (R's ``nest=TRUE``).

    Examples
    --------
    >>> des = SurveyDesign(df, weights="pw", strata="stype", psu="dnum", fpc="fpc")  # doctest: +SKIP
    >>> des.mean("api00", by="stype")  # doctest: +SKIP
    """

    def __init__(
        self,
        data: pd.DataFrame,
        weights: str | None = None,
        strata: str | Sequence[str] | None = None,
        psu: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        lonely_psu: LonelyPSU | str = LonelyPSU.FAIL,
        nest: bool = False,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DesignError(f"data must be a pandas DataFrame, not {type(data).__name__}")
        if len(data) == 0:
            raise DesignError("data has no rows")
        self.data = data
        self.lonely_psu = coerce(LonelyPSU, lonely_psu, "lonely_psu")
        self.spec = {"weights": weights, "strata": as_list(strata), "psu": as_list(psu), "fpc": as_list(fpc)}
        self.weights = self._read_weights(weights)
        self.stages = self._build_stages(nest)
        self.steps: tuple = ()

    @classmethod
    def from_sql(cls, engine: Any, table_or_query: str, **design: Any):
        """A design whose rows stay in the database; estimators push sums down to SQL.

        See :class:`analysis.sql.SqlDesign` (``weights=``, ``strata=``, ``psu=``, ``fpc=`` as here).
        """
        from analysis.sql import SqlDesign

        return SqlDesign(engine, table_or_query, **design)

    # -- construction -------------------------------------------------------------------------
    def _read_weights(self, weights: str | None) -> np.ndarray:
        if weights is None:
            return np.ones(len(self.data))
        w = pd.to_numeric(_column(self.data, weights, "weights"), errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise DesignError(f"weights column {weights!r} must hold finite numbers >= 0")
        return w

    def _build_stages(self, nest: bool) -> list[Stage]:
        n = len(self.data)
        psu, strata, fpc = self.spec["psu"], self.spec["strata"], self.spec["fpc"]
        if fpc and len(fpc) != max(len(psu), 1):
            raise DesignError(f"fpc has {len(fpc)} stage(s) but psu has {max(len(psu), 1)}; give one per stage")
        psu_codes = [_codes(_column(self.data, c, "psu")) for c in psu] or [(np.arange(n), np.arange(n))]
        strata_codes = [_codes(_column(self.data, c, "strata")) for c in strata]
        if not strata_codes:
            strata_codes = [(np.zeros(n, dtype=np.int64), np.array(["1"]))]
        units = []
        for s in range(len(psu_codes)):
            parts = [psu_codes[t][0] for t in range(s + 1)]
            if nest:
                parts = [strata_codes[0][0], *parts]
            units.append(_combine(*parts))
        if units[0].max() == 0 and not (nest and strata):
            raise DesignError("the design has only one primary sampling unit; variance cannot be estimated")
        stage_strata, labels = [], []
        for s in range(len(units)):
            st_code, st_labels = strata_codes[min(s, len(strata_codes) - 1)]
            if s == 0:
                stage_strata.append(st_code)
                labels.append(st_labels.astype(str))
            else:
                combined = _combine(st_code, units[s - 1])
                stage_strata.append(combined)
                labels.append(np.array([f"{i + 1} at stage {s + 1}" for i in range(combined.max() + 1)]))
        return self._stages_from_codes(units, stage_strata, labels, fpc)

    def _stages_from_codes(self, units, stage_strata, labels, fpc) -> list[Stage]:
        unit_stratum, n_units, first_row = [], [], []
        for s, (u, h) in enumerate(zip(units, stage_strata, strict=True)):
            us = np.full(u.max() + 1, -1, dtype=np.int64)
            us[u] = h
            if np.any(us[u] != h):
                where = "at top level" if s == 0 else f"at stage {s + 1}"
                raise DesignError(f"clusters are not nested in strata {where}; pass nest=True if psu ids repeat")
            unit_stratum.append(us)
            n_units.append(np.bincount(us, minlength=h.max() + 1))
            first = np.empty(h.max() + 1, dtype=np.int64)
            first[h[::-1]] = np.arange(len(h) - 1, -1, -1)  # last write wins: each stratum's first row
            first_row.append(first)
        popsizes: list[np.ndarray | None] = [None] * len(units)
        if fpc:
            fpc_rows = [pd.to_numeric(_column(self.data, c, "fpc")).to_numpy(dtype=float) for c in fpc]
            per_stratum = [f[first_row[s]] for s, f in enumerate(fpc_rows)]
            popsizes = _fpc_popsize(per_stratum, n_units)
        stages = []
        for s in range(len(units)):
            parent = units[s - 1][first_row[s]] if s > 0 else None
            stages.append(Stage(units[s], unit_stratum[s], n_units[s], popsizes[s], parent, labels[s]))
        return stages

    def _derive(self, weights: np.ndarray, step: Any) -> SurveyDesign:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.weights = weights
        new.steps = (*self.steps, step)
        return new

    # -- engine -------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.data)

    @property
    def is_calibrated(self) -> bool:
        return bool(self.steps)

    def vcov(self, infl: Influence | list[Influence]) -> np.ndarray:
        """Variance matrix of the totals of ``infl`` (calibration residuals first, as ``svyrecvar``)."""
        if self.steps:
            blocks = infl if isinstance(infl, list) else [infl]
            x = np.hstack([b.dense() for b in blocks])
            for step in self.steps:
                x = step.adjust(x)
            infl = Influence(x)
        return multistage_vcov(self.stages, infl, self.lonely_psu)

    def degf(self, mask: np.ndarray | None = None) -> int:
        """Design degrees of freedom: PSUs minus strata among rows with non-zero weight (R's ``degf``)."""
        inset = self.weights != 0 if mask is None else (self.weights != 0) & mask
        first = self.stages[0]
        units = np.flatnonzero(np.bincount(first.unit[inset], minlength=first.n_unit_codes))
        return len(units) - len(np.unique(first.unit_stratum[units]))

    def degf_by(self, codes: np.ndarray, size: int, mask: np.ndarray) -> np.ndarray:
        """``degf`` of each domain ``0..size-1`` (rows with ``mask`` and non-zero weight)."""
        first = self.stages[0]
        inset = (self.weights != 0) & mask & (codes >= 0)
        unit = first.unit[inset]
        c = codes[inset]
        u, s = first.n_unit_codes, first.n_strata
        psus = np.unique(c * u + unit) // u
        strata = np.unique(c * s + first.unit_stratum[unit]) // s
        return np.bincount(psus, minlength=size) - np.bincount(strata, minlength=size)

    def column(self, name: str) -> pd.Series:
        if name not in self.data.columns:
            raise DesignError(f"column {name!r} is not in the data; columns are {list(self.data.columns)[:20]}")
        return self.data[name]

    def __repr__(self) -> str:
        s = self.spec
        return (f"SurveyDesign(n={self.n}, stages={len(self.stages)}, strata={s['strata']}, psu={s['psu']}, "
                f"fpc={s['fpc']}, lonely_psu={self.lonely_psu.value!r}, calibrated={self.is_calibrated})")

    # -- estimators (see analysis.estimators) ----------------------------------------------------
    def mean(self, variable: str, by: str | Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
        return estimators.mean(self, variable, by=by, level=level).to_frame()

    def total(self, variable: str, by: str | Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
        return estimators.total(self, variable, by=by, level=level).to_frame()

    def proportion(self, variable: str, by: str | Sequence[str] | None = None, ci_method: str = "logit",
                   level: float = 0.95) -> pd.DataFrame:
        return estimators.proportion(self, variable, by=by, ci_method=ci_method, level=level).to_frame()

    def ratio(self, numerator: str, denominator: str, by: str | Sequence[str] | None = None,
              level: float = 0.95) -> pd.DataFrame:
        return estimators.ratio(self, numerator, denominator, by=by, level=level).to_frame()

    def quantile(self, variable: str, q: float | Sequence[float] = 0.5, by: str | Sequence[str] | None = None,
                 rule: str = "math", level: float = 0.95) -> pd.DataFrame:
        return quantiles.quantile(self, variable, q, by=by, rule=rule, level=level)

    # -- weighting (see analysis.calibration) ---------------------------------------------------
    def poststratify(self, variables: str | Sequence[str], population: Mapping, partial: bool = False) -> SurveyDesign:
        return calibration.poststratify(self, variables, population, partial=partial)

    def rake(self, margins: Mapping[str, Mapping], tol: float = 1.0, max_iter: int = 10) -> SurveyDesign:
        return calibration.rake(self, margins, tol=tol, max_iter=max_iter)

    def calibrate(self, population: Mapping[str, Any], bounds: tuple[float, float] = (-np.inf, np.inf),
                  max_iter: int = 50, tol: float = 1e-7) -> SurveyDesign:
        return calibration.calibrate(self, population, bounds=bounds, max_iter=max_iter, tol=tol)

    # -- tests (see analysis.hypothesis) --------------------------------------------------------
    def chisq(self, row: str, col: str, statistic: str = "F") -> pd.DataFrame:
        return hypothesis.chisq(self, row, col, statistic=statistic)

    def ttest(self, variable: str, group: str | None = None) -> pd.DataFrame:
        return hypothesis.ttest(self, variable, group)

    def domain_test(self, variable: str, domain: str, against: str = "rest", level: float = 0.95) -> pd.DataFrame:
        return hypothesis.domain_test(self, variable, domain, against=against, level=level)

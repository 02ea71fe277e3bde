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

import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis import calibration, estimators, hypothesis, quantiles, structure
from analysis.domains import Domains, domains
from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.policies import LonelyPSU, coerce
from analysis.sql import SqlDesign
from analysis.structure import as_list, column
from analysis.variance import Columns, Influence, multistage_vcov

__all__ = ["SurveyDesign", "as_list"]


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
        self.identifiers = structure.identifiers(data, self.spec["strata"], self.spec["psu"], self.spec["fpc"])
        self.stages = structure.build_stages(data, self.spec["strata"], self.spec["psu"], self.spec["fpc"], nest,
                                             self.identifiers)
        self.steps: tuple = ()

    @classmethod
    def from_sql(cls, engine: Any, table_or_query: str, **design: Any):
        """A design whose rows stay in the database; estimators push sums down to SQL.

        See :class:`analysis.sql.SqlDesign` (``weights=``, ``strata=``, ``psu=``, ``fpc=`` as here).
        """
        return SqlDesign(engine, table_or_query, **design)

    # -- construction -------------------------------------------------------------------------
    def _read_weights(self, weights: str | None) -> np.ndarray:
        if weights is None:
            return np.ones(len(self.data))
        w = pd.to_numeric(column(self.data, weights, "weights"), errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise DesignError(f"weights column {weights!r} must hold finite numbers >= 0")
        return w

    def reweighted(self, weights: np.ndarray, step: Any) -> SurveyDesign:
        """A new design with ``weights``, recording the weighting ``step`` whose residuals the
        variance needs (see :mod:`analysis.calibration`); this design is left unchanged."""
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

    def vcov(self, infl: Influence | list[Influence], pairs: list[tuple[Columns, Columns]] | None = None) -> np.ndarray:
        """Variance matrix of the totals of ``infl`` (calibration residuals first, as ``svyrecvar``); with ``pairs``,
        only those entries (:func:`analysis.variance.multistage_vcov`)."""
        if self.steps:
            blocks = infl if isinstance(infl, list) else [infl]
            x = np.hstack([b.dense() for b in blocks])
            for step in self.steps:
                x = step.adjust(x)
            infl = Influence(x)
        return multistage_vcov(self.stages, infl, self.lonely_psu, pairs=pairs)

    def degf(self, mask: np.ndarray | None = None) -> int:
        """Design degrees of freedom: PSUs minus strata among rows with non-zero weight (R's ``degf``)."""
        return structure.degf(self.stages, self.weights, mask)

    def degf_by(self, codes: np.ndarray, size: int, mask: np.ndarray) -> np.ndarray:
        """``degf`` of each domain ``0..size-1`` (rows with ``mask`` and non-zero weight)."""
        return structure.degf_by(self.stages, self.weights, codes, size, mask)

    def domains(self, by: str | Sequence[str] | None) -> Domains:
        """The domains of ``by`` (:func:`analysis.domains.domains`), reusing the codes of strata and PSU
        columns factorised when the design was built."""
        return domains(self.data, by, self.identifiers)

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

    def calibrate(self, population: Mapping[str, Any], bounds: tuple[float, float] = (-math.inf, math.inf),
                  max_iter: int = 50, tol: float = 1e-7) -> SurveyDesign:
        return calibration.calibrate(self, population, bounds=bounds, max_iter=max_iter, tol=tol)

    # -- tests (see analysis.hypothesis) --------------------------------------------------------
    def chisq(self, row: str, col: str, statistic: str = "F") -> pd.DataFrame:
        return hypothesis.chisq(self, row, col, statistic=statistic)

    def ttest(self, variable: str, group: str | None = None) -> pd.DataFrame:
        return hypothesis.ttest(self, variable, group)

    def domain_test(self, variable: str, domain: str, against: str = "rest", level: float = 0.95) -> pd.DataFrame:
        return hypothesis.domain_test(self, variable, domain, against=against, level=level)

"""Estimation from PostgreSQL (or any SQL database) without loading the rows.

The linearised variance of a mean, total, ratio or proportion only needs, for every sampling unit
and domain, the sums :math:`\\sum w`, :math:`\\sum w y` (and :math:`\\sum w x`, :math:`\\sum w y^2`,
the respondent count): the sufficient statistics of the linearisation. :class:`SqlDesign` asks the
database for exactly those, grouped by stratum x PSU (x later-stage units) x domain, and feeds them
to the same variance engine as the in-memory design, so both give the same numbers (to rounding
of the database's sums) while only one row per unit and domain crosses the wire.

Calibrated designs are not supported here (calibration residuals need every row); weight in
memory or store calibrated weights in the table.

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, Appendix C (variances from unit totals).
Lumley, T. (2023). *sqlsurvey*: analysis of large surveys in SQL databases (R package, design notes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.design import SurveyDesign, as_list
from analysis.domains import domains
from analysis.errors import DesignError
from analysis.estimators import _deff
from analysis.intervals import proportion_ci
from analysis.policies import CIMethod, LonelyPSU, coerce
from analysis.results import Estimate, wald_ci
from analysis.variance import Influence

__all__ = ["SqlDesign"]


class SqlDesign:
    """A survey design whose rows stay in a SQL table; estimators push their sums down to SQL.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
    table_or_query : str
        A table name, or a ``SELECT`` query (used as a sub-query).
    weights, strata, psu, fpc, lonely_psu
        As :class:`~analysis.design.SurveyDesign`.
    """

    def __init__(self, engine: Any, table_or_query: str, weights: str | None = None,
                 strata: str | Sequence[str] | None = None, psu: str | Sequence[str] | None = None,
                 fpc: str | Sequence[str] | None = None, lonely_psu: LonelyPSU | str = LonelyPSU.FAIL) -> None:
        self.engine = engine
        text = table_or_query.strip()
        self._is_query = text.lower().startswith(("select", "with"))
        self.relation = text
        self.weights, self.strata, self.psu, self.fpc = weights, as_list(strata), as_list(psu), as_list(fpc)
        if not self.psu:
            raise DesignError("from_sql needs psu= (a design with one unit per row would bring every row back)")
        self.lonely_psu = lonely_psu

    def _q(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(name)

    def _source(self) -> str:
        if self._is_query:
            return f"({self.relation}) AS khaosat_src"
        return ".".join(self._q(p) for p in self.relation.split("."))

    def _aggregate(self, values: dict[str, str], valid: str, group: list[str]) -> pd.DataFrame:
        """One row per design unit path x ``group``: weighted sums of ``values`` over valid rows."""
        from sqlalchemy import text

        w = f"CAST({self._q(self.weights)} AS DOUBLE PRECISION)" if self.weights else "1.0"
        keys = list(dict.fromkeys(self.strata + self.psu + self.fpc + group))
        cols = [f"SUM(CASE WHEN {valid} THEN {w} ELSE 0 END) AS sw",
                f"SUM(CASE WHEN {valid} AND {w} <> 0 THEN 1 ELSE 0 END) AS nv",
                f"SUM(CASE WHEN {w} <> 0 THEN 1 ELSE 0 END) AS nw", "COUNT(*) AS nr"]
        cols += [f"SUM(CASE WHEN {valid} THEN {w} * ({expr}) ELSE 0 END) AS {name}" for name, expr in values.items()]
        key_sql = ", ".join(self._q(k) for k in keys)
        sql = f"SELECT {key_sql}, {', '.join(cols)} FROM {self._source()} GROUP BY {key_sql}"
        with self.engine.connect() as conn:
            result = conn.execute(text(sql))
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        for c in ["sw", "nv", "nw", "nr", *values]:
            frame[c] = pd.to_numeric(frame[c]).astype(float)
        return frame

    def _design(self, frame: pd.DataFrame) -> SurveyDesign:
        return SurveyDesign(frame, strata=self.strata or None, psu=self.psu, fpc=self.fpc or None,
                            lonely_psu=self.lonely_psu)

    def _num(self, name: str) -> str:
        return f"CAST({self._q(name)} AS DOUBLE PRECISION)"

    def _estimate(self, variable: str, by, kind: str, denominator: str | None = None, level: float = 0.95):
        y = self._num(variable)
        values = {"swy": y, "swyy": f"{y} * {y}"}
        valid = f"{self._q(variable)} IS NOT NULL"
        if denominator is not None:
            x = self._num(denominator)
            values.update({"swx": x, "swyx": f"{y} * {x}", "swxx": f"{x} * {x}"})
            valid += f" AND {self._q(denominator)} IS NOT NULL"
        frame = self._aggregate(values, valid, as_list(by))
        des = self._design(frame)
        dom = domains(frame, by)
        codes = dom.safe_codes()

        def dsum(col: str) -> np.ndarray:
            return np.bincount(codes, weights=np.where(dom.member, frame[col].to_numpy(), 0.0), minlength=dom.size)

        sw, n = dsum("sw"), dsum("nv")
        if kind == "mean":
            est = dsum("swy") / sw
            z = (frame["swy"].to_numpy() - est[codes] * frame["sw"].to_numpy()) / sw[codes]
            ss, scale = dsum("swyy") - 2 * est * dsum("swy") + est**2 * sw, np.ones(dom.size)
        elif kind == "total":
            est = dsum("swy")
            z = frame["swy"].to_numpy()
            m = est / sw
            ss, scale = dsum("swyy") - 2 * m * est + m**2 * sw, sw**2
        else:
            xs = dsum("swx")
            est = dsum("swy") / xs
            z = (frame["swy"].to_numpy() - est[codes] * frame["swx"].to_numpy()) / xs[codes]
            r2 = (dsum("swyy") - 2 * est * dsum("swyx") + est**2 * dsum("swxx")) / xs**2
            rbar = (dsum("swy") - est * xs) / xs / sw
            ss, scale = r2 - rbar**2 * sw, sw**2
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = ss / sw * n / (n - 1)
        v = des.vcov(Influence(np.where(dom.member, z, 0.0)[:, None], codes, dom.size))
        se = np.sqrt(np.clip(np.diag(v), 0, None))
        low, high = wald_ci(est, se, level)
        deff = _deff(np.diag(v), s2, sw, n, scale)
        return Estimate(dom.keys, est, v, deff, n, np.full(dom.size, np.inf), low, high, kind, level).to_frame()

    def mean(self, variable: str, by: str | Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
        """Weighted mean per domain, as :meth:`SurveyDesign.mean`, from SQL aggregates."""
        return self._estimate(variable, by, "mean", level=level)

    def total(self, variable: str, by: str | Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
        """Weighted total per domain, as :meth:`SurveyDesign.total`, from SQL aggregates."""
        return self._estimate(variable, by, "total", level=level)

    def ratio(self, numerator: str, denominator: str, by: str | Sequence[str] | None = None,
              level: float = 0.95) -> pd.DataFrame:
        """Ratio of totals per domain, as :meth:`SurveyDesign.ratio`, from SQL aggregates."""
        return self._estimate(numerator, by, "ratio", denominator=denominator, level=level)

    def quantile(self, variable: str, q: float | Sequence[float] = 0.5, by: str | Sequence[str] | None = None,
                 rule: str = "math", level: float = 0.95) -> pd.DataFrame:
        """Not offered: a quantile needs every value, not unit sums; raises :class:`DesignError`."""
        raise DesignError("SqlDesign cannot estimate quantiles (they need every row, not sums per unit); "
                          "load the rows into SurveyDesign for quantile()")

    def proportion(self, variable: str, by: str | Sequence[str] | None = None, ci_method: CIMethod | str = "logit",
                   level: float = 0.95) -> pd.DataFrame:
        """Share of each level per domain, as :meth:`SurveyDesign.proportion` (every ``ci_method``), from SQL."""
        method = coerce(CIMethod, ci_method, "ci_method")
        frame = self._aggregate({}, f"{self._q(variable)} IS NOT NULL", [*as_list(by), variable])
        des = self._design(frame)
        dom = domains(frame, by)
        lcodes, levels = pd.factorize(frame[variable], sort=True, use_na_sentinel=True)
        member = dom.member & (lcodes >= 0)
        codes, sw_r = dom.safe_codes(), np.where(member, frame["sw"].to_numpy(), 0.0)
        sw = np.bincount(codes, weights=sw_r, minlength=dom.size)
        hits = np.zeros((dom.size, len(levels)))
        np.add.at(hits, (codes[member], lcodes[member]), sw_r[member])
        with np.errstate(divide="ignore", invalid="ignore"):
            p = hits / sw[:, None]
        ind = np.zeros((len(frame), len(levels)))
        ind[np.flatnonzero(member), lcodes[member]] = 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.nan_to_num((sw_r[:, None] * ind - p[codes] * sw_r[:, None]) / sw[codes][:, None])
        v = des.vcov(Influence(z, codes, dom.size))
        est, var = p.reshape(-1), np.diag(v)
        k = len(levels)
        n = np.repeat(np.bincount(codes, weights=np.where(member, frame["nv"], 0.0), minlength=dom.size), k)
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = _deff(var, est * (1 - est) * n / (n - 1), np.repeat(sw, k), n, np.ones_like(est))
        df = np.repeat(des.degf_by(dom.codes, dom.size, dom.member & (frame["nw"].to_numpy() > 0)).astype(float), k)
        rows = np.repeat(np.bincount(codes, weights=np.where(dom.member, frame["nr"], 0.0), minlength=dom.size), k)
        low, high = proportion_ci(method, est, var, level, df, n, rows)
        keys = dom.keys.loc[dom.keys.index.repeat(k)].reset_index(drop=True)
        keys[variable] = np.tile(np.asarray(levels), dom.size)
        return Estimate(keys, est, v, deff, n, df, low, high, "proportion", level,
                        {"ci_method": method.value}).to_frame()

"""Estimation from PostgreSQL (or any SQL database) without loading the rows.

The linearised variance of a mean, total, ratio or proportion only needs, for every sampling unit
and domain, the sums :math:`\\sum w`, :math:`\\sum w y` (and :math:`\\sum w x`, :math:`\\sum w y^2`,
the respondent count): the sufficient statistics of the linearisation. :class:`SqlDesign` asks the
database for exactly those, grouped by stratum x PSU (x later-stage units) x domain, and feeds them
to the same variance engine as the in-memory design, so both give the same numbers (to rounding
of the database's sums) while only one row per unit and domain crosses the wire.

Raking is pushed down too (:meth:`SqlDesign.rake`): the cross-table of the margin variables is read
once and raked in Python (:mod:`analysis.cell_raking`); every estimate then groups its sums by the
margin variables as well, multiplies them by their cell's factor, and takes the raking residuals
from sums per cell (the factors are applied to the grouped sums, which is the same as joining them
back to the rows, without the join). Estimates and standard errors are those of
``SurveyDesign.rake`` on the same rows. Post-stratification and GREG calibration are not offered
here (they raise). With more than :data:`FULL_VCOV_COLUMNS` estimates (3,321 communes) only their
variances are computed, not their covariances (``attrs["vcov"]`` is then absent).

Roll-ups (:meth:`SqlDesign.build_rollup`, :meth:`SqlDesign.with_rollup`, :mod:`analysis.rollup`): the same
sums kept in a table at the grain stratum x PSU x domains x raking cells, built by one scan (a background
refresh); raking and means and totals then read that table instead of the rows, with the same numbers.

References
----------
Lumley, T. (2010). *Complex Surveys*. Wiley, Appendix C (variances from unit totals).
Lumley, T. (2023). *sqlsurvey*: analysis of large surveys in SQL databases (R package, design notes).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from analysis.cell_raking import CellRaking, GroupedRows, margin_variables
from analysis.domains import domains
from analysis.errors import DesignError
from analysis.estimators import design_effect
from analysis.intervals import proportion_ci
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.policies import CIMethod, LonelyPSU, coerce
from analysis.results import Estimate
from analysis.rollup import PER_INDICATOR, Rollup, build, build_sets, open_rollup, select_sql
from analysis.structure import as_list, build_stages, degf_by
from analysis.variance import Influence, Stage, multistage_vcov

__all__ = ["SqlDesign", "FULL_VCOV_COLUMNS"]

FULL_VCOV_COLUMNS = 400  #: above this many estimates, only their variances are computed


def _split_levels(frame: pd.DataFrame, variable: str) -> pd.DataFrame:
    """A roll-up's grouped sums of a 0/1 ``variable`` (``sw``, ``nv``, ``swy``, ``sy`` per group) as the sums of its
    level 1 (those of ``w y`` and of ``y``) and of its level 0 (the rest): :meth:`SqlDesign._levels_from_rollup`."""
    one = frame.assign(**{variable: 1, "sw": frame["swy"], "nv": frame["sy"]})
    zero = frame.assign(**{variable: 0, "sw": frame["sw"] - frame["swy"], "nv": frame["nv"] - frame["sy"],
                           "nr": 0.0, "swall": 0.0})
    return pd.concat([zero, one], ignore_index=True).drop(columns=["swy", "sy"])


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
        self.lonely_psu = coerce(LonelyPSU, lonely_psu, "lonely_psu")
        self.raking: CellRaking | None = None
        self.rollup: Rollup | None = None

    @property
    def is_calibrated(self) -> bool:
        return self.raking is not None

    def rake(self, margins: Mapping[str, Mapping], tol: float = 1.0, max_iter: int = 10) -> SqlDesign:
        """A new design raked to ``margins``, as :meth:`SurveyDesign.rake` (same arguments, same numbers),
        from one query: the sums of weights per cell of the margin variables.

        :raise DesignError: when this design is raked already (rake once, to every margin together)
        """
        if self.raking is not None:
            raise DesignError("this SqlDesign is raked already; rake once, to all the margins together")
        names = margin_variables(margins)
        key_sql = ", ".join(self._q(k) for k in names)
        if self.rollup is not None and self.rollup.covers(names):
            source, total = self._q(self.rollup.table), "SUM(swall)"
        else:
            source, total = self._source(), f"SUM({self._weight()})"
        table = self._query(f"SELECT {key_sql}, {total} AS sw FROM {source} GROUP BY {key_sql}")
        table["sw"] = pd.to_numeric(table["sw"]).astype(float)
        raked = copy.copy(self)
        raked.raking = CellRaking.of(table, margins, tol, max_iter)
        return raked

    def build_rollup(self, table: str, indicators: Sequence[str], by: Sequence[str] = (),
                     cells: Sequence[str] = (), note: dict | None = None) -> Rollup:
        """Write the roll-up ``table`` (a table name of the default schema; :mod:`analysis.rollup`): the sums of ``indicators`` per stratum x PSU
        (x fpc) x ``by`` (the domains to serve) x ``cells`` (the margin variables to rake to; a raked design's
        own), by one scan of the rows; it replaces an older ``table`` in one transaction. ``note``: kept with it
        (:attr:`Rollup.note`), for the caller to say what it was built from."""
        keys = self._keys([*by, *cells])
        select = select_sql(self._source(), keys, list(indicators), self._weight(), self._q)
        return build(self.engine, table, select, keys, list(indicators), self._q, note)

    def build_rollups(self, tables: Sequence[tuple[str, Sequence[str]]], indicators: Sequence[str],
                      note: dict | None = None) -> list[Rollup]:
        """Write several roll-ups as :meth:`build_rollup` writes one, each ``(table, by)``, reading the rows once
        (:func:`analysis.rollup.build_sets`): for domains that are not crossed with each other, each in a roll-up of
        its own of a few rows a PSU, rather than all crossed in one."""
        keyed = [(table, self._keys(list(by))) for table, by in tables]
        return build_sets(self.engine, keyed, self._source(), list(indicators), self._weight(), self._q, note)

    def with_rollup(self, rollup: Rollup | str) -> SqlDesign:
        """This design reading ``rollup`` (or the roll-up last built as the table of that name, by any
        process) wherever it covers an estimate (and the raking's cross-table): attach it before
        :meth:`rake`, so that the raking and the estimates read the same snapshot.

        :raise DesignError: when this design is raked already
        """
        if isinstance(rollup, str):
            rollup = open_rollup(self.engine, rollup, self._q)
        if self.raking is not None:
            raise DesignError("attach the roll-up before raking, so that raking and estimates read the same snapshot")
        served = copy.copy(self)
        served.rollup = rollup
        return served

    def poststratify(self, variables: Any, population: Mapping, partial: bool = False) -> SqlDesign:
        """Not offered: raises :class:`DesignError` (rake to the one margin, or post-stratify in memory)."""
        raise DesignError("SqlDesign does not post-stratify; use rake() with the cells as one margin, "
                          "or load the rows into SurveyDesign")

    def calibrate(self, population: Mapping[str, Any], **options: Any) -> SqlDesign:
        """Not offered: raises :class:`DesignError` (GREG needs every row's calibration variables)."""
        raise DesignError("SqlDesign does not calibrate (GREG); use rake(), or load the rows into SurveyDesign")

    def _q(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(name)

    def _source(self) -> str:
        if self._is_query:
            return f"({self.relation}) AS khaosat_src"
        return ".".join(self._q(p) for p in self.relation.split("."))

    def _weight(self) -> str:
        return f"CAST({self._q(self.weights)} AS DOUBLE PRECISION)" if self.weights else "1.0"

    def _query(self, sql: str) -> pd.DataFrame:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            result = conn.execute(text(sql))
            return pd.DataFrame.from_records([tuple(row) for row in result], columns=list(result.keys()))

    def _aggregate(self, values: dict[str, str], valid: str, group: list[str],
                   plain: dict[str, str] | None = None) -> pd.DataFrame:
        """One row per design unit path x ``group`` (x cell of the margin variables, when raked):
        weighted sums of ``values`` over valid rows, with the final weights; ``plain``: unweighted sums
        over valid rows of non-zero weight (what the raking residuals need)."""
        w = self._weight()
        cols = [f"SUM({w}) FILTER (WHERE {valid}) AS sw", f"COUNT(*) FILTER (WHERE {valid} AND {w} <> 0) AS nv",
                f"COUNT(*) FILTER (WHERE {w} <> 0) AS nw", "COUNT(*) AS nr", f"SUM({w}) AS swall"]
        cols += [f"SUM({w} * ({expr})) FILTER (WHERE {valid}) AS {name}" for name, expr in values.items()]
        plain = plain or {}
        cols += [f"SUM({expr}) FILTER (WHERE {valid} AND {w} <> 0) AS {name}" for name, expr in plain.items()]
        return self._grouped(self._source(), self._keys(group), cols, list(values), list(plain))

    def _keys(self, group: list[str]) -> list[str]:
        raked = self.raking.variables if self.raking is not None else []
        return list(dict.fromkeys(self.strata + self.psu + self.fpc + group + raked))

    def _from_rollup(self, variable: str, group: list[str], plain: bool) -> pd.DataFrame:
        """As :meth:`_aggregate` for a mean or total of ``variable``, from the roll-up's sums."""
        stats = [s for s in PER_INDICATOR if plain or s != "sy"]
        cols = [f"SUM({c}) AS {c}" for c in ("nw", "nr", "swall")]
        cols += [f"SUM({self._q(Rollup.column(variable, s))}) AS {s}" for s in stats]
        return self._grouped(self._q(self.rollup.table), self._keys(group), cols, ["swy", "swyy"],
                             ["sy"] if plain else [])

    def _levels_from_rollup(self, variable: str, group: list[str]) -> pd.DataFrame:
        """As :meth:`_aggregate` grouped by ``group`` and the levels of a 0/1 ``variable``, from the roll-up: each
        group's sums split into those of level 1 (its sums of ``w y`` and of ``y``) and of level 0 (the rest). The
        group's rows and their weights (``nr``, ``swall``) go with level 1 only, so that they are counted once;
        its rows of non-zero weight (``nw``: which units a domain has) with both, as the rows' groups have them."""
        cols = [f"SUM({c}) AS {c}" for c in ("nw", "nr", "swall")]
        cols += [f"SUM({self._q(Rollup.column(variable, s))}) AS {s}" for s in ("sw", "nv", "swy", "sy")]
        return _split_levels(self._grouped(self._q(self.rollup.table), self._keys(group), cols, ["swy"], ["sy"]),
                             variable)

    def proportions(self, variables: Sequence[str], by: str | Sequence[str] | None = None,
                    ci_method: CIMethod | str = "logit", level: float = 0.95) -> dict[str, pd.DataFrame]:
        """:meth:`proportion` of each of ``variables``; from one ``GROUP BY`` of the roll-up when it serves every one
        (the 0/1 indicators of a categorical variable's levels: one query instead of one a level)."""
        group = as_list(by)
        if self.rollup is None or not all(self.rollup.covers(self._keys(group), v, proportion=True) for v in variables):
            return {v: self.proportion(v, by, ci_method, level) for v in variables}
        stats = ("sw", "nv", "swy", "sy")
        cols = [f"SUM({c}) AS {c}" for c in ("nw", "nr", "swall")]
        cols += [f"SUM({self._q(Rollup.column(v, s))}) AS {self._q(f'{s}_{i}')}" for i, v in enumerate(variables)
                 for s in stats]
        every = self._grouped(self._q(self.rollup.table), self._keys(group), cols,
                              [f"{s}_{i}" for i in range(len(variables)) for s in ("sw", "swy")],
                              [f"{s}_{i}" for i in range(len(variables)) for s in ("nv", "sy")])
        common = [*self._keys(group), "nw", "nr", "swall", *(["cell"] if "cell" in every else [])]
        out = {}
        for i, v in enumerate(variables):
            frame = every[common].assign(**{s: every[f"{s}_{i}"] for s in stats})
            out[v] = self._proportion_of(_split_levels(frame, v), v, by, coerce(CIMethod, ci_method, "ci_method"),
                                         level)
        return out

    def _grouped(self, source: str, keys: list[str], cols: list[str], weighted: list[str],
                 plain: list[str]) -> pd.DataFrame:
        """``cols`` of ``source`` grouped by ``keys`` as numbers, the weighted sums times their cell's factor."""
        key_sql = ", ".join(self._q(k) for k in keys)
        frame = self._query(f"SELECT {key_sql}, {', '.join(cols)} FROM {source} GROUP BY {key_sql}")
        for c in ["sw", "nv", "nw", "nr", "swall", *weighted, *plain]:  # a sum over no row is NULL
            if c in frame:
                frame[c] = pd.to_numeric(frame[c]).astype(float).fillna(0.0)
        if self.raking is not None:
            frame["cell"] = self.raking.cells(frame)
            factor = self.raking.factor[frame["cell"].to_numpy()]
            for c in ["sw", "swall", *weighted]:
                if c in frame:
                    frame[c] = frame[c] * factor
        return frame

    def _variance(self, stages: list[Stage], frame: pd.DataFrame, infl: Influence,
                  ratios: Influence | None) -> np.ndarray:
        """The variance matrix of the totals of ``infl`` (only the variances beyond FULL_VCOV_COLUMNS)."""
        full = infl.n_columns <= FULL_VCOV_COLUMNS
        if self.raking is None:
            return multistage_vcov(stages, infl, self.lonely_psu, diagonal=not full)
        unit = stages[-1].unit
        first = np.full(unit.max() + 1, -1, dtype=np.int64)
        first[unit[::-1]] = np.arange(len(unit) - 1, -1, -1)  # the first grouped row of each unit
        units = self._stages(frame.iloc[first].reset_index(drop=True))
        grouped = GroupedRows(frame["cell"].to_numpy(), frame["nr"].to_numpy(), frame["swall"].to_numpy())
        return self.raking.variances(unit, units, self.lonely_psu, grouped, infl, ratios, full)

    def _stages(self, frame: pd.DataFrame) -> list[Stage]:
        """The design's stages over the unit sums (one row per unit path and domain), as over the rows."""
        if len(frame) == 0:
            raise DesignError("data has no rows")
        return build_stages(frame, self.strata, self.psu, self.fpc)

    def _num(self, name: str) -> str:
        return f"CAST({self._q(name)} AS DOUBLE PRECISION)"

    def _estimate(self, variable: str, by, kind: str, denominator: str | None = None, level: float = 0.95):
        y = self._num(variable)
        values, plain = {"swy": y, "swyy": f"{y} * {y}"}, {"sy": y}
        valid = f"{self._q(variable)} IS NOT NULL"
        if denominator is not None:
            x = self._num(denominator)
            values.update({"swx": x, "swyx": f"{y} * {x}", "swxx": f"{x} * {x}"})
            plain["sx"] = x
            valid += f" AND {self._q(denominator)} IS NOT NULL"
        raked, group = self.raking is not None, as_list(by)
        if denominator is None and self.rollup is not None and self.rollup.covers(self._keys(group), variable):
            frame = self._from_rollup(variable, group, raked)
        else:
            frame = self._aggregate(values, valid, group, plain if raked else None)
        stages = self._stages(frame)
        dom = domains(frame, by)
        codes = dom.safe_codes()

        def dsum(col: str) -> np.ndarray:
            return np.bincount(codes, weights=dom.only_members(frame[col].to_numpy()), minlength=dom.size)

        sw, n = dsum("sw"), dsum("nv")
        est, z, ratios, ss, scale = _linearised(kind, frame, dsum, codes)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = ss / sw * n / (n - 1)

        def influence(values: np.ndarray | None) -> Influence | None:
            return None if values is None else Influence(dom.only_members(values)[:, None], codes, dom.size)

        v = self._variance(stages, frame, influence(z), influence(ratios))
        deff = design_effect(np.diag(v) if v.ndim == 2 else v, s2, sw, n, scale)
        return Estimate.from_vcov(dom.keys, est, v, n, kind, level, deff).to_frame()

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
        group = as_list(by)
        if self.rollup is not None and self.rollup.covers(self._keys(group), variable, proportion=True):
            frame = self._levels_from_rollup(variable, group)
        else:
            frame = self._aggregate({}, f"{self._q(variable)} IS NOT NULL", [*group, variable])
        return self._proportion_of(frame, variable, by, method, level)

    def _proportion_of(self, frame: pd.DataFrame, variable: str, by: str | Sequence[str] | None, method: CIMethod,
                       level: float) -> pd.DataFrame:
        """:meth:`proportion` from the grouped sums of ``variable``'s levels (``frame``)."""
        stages = self._stages(frame)
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
        nv_r = np.where(member, frame["nv"].to_numpy(), 0.0)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.nan_to_num((sw_r[:, None] * ind - p[codes] * sw_r[:, None]) / sw[codes][:, None])
            ratios = np.nan_to_num((nv_r * ind - p[codes] * nv_r) / sw[codes][:, None])
        v = self._variance(stages, frame, Influence(z, codes, dom.size), Influence(ratios, codes, dom.size))
        est, var = p.reshape(-1), np.diag(v) if v.ndim == 2 else v
        k = len(levels)
        n = np.repeat(np.bincount(codes, weights=np.where(member, frame["nv"], 0.0), minlength=dom.size), k)
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = design_effect(var, est * (1 - est) * n / (n - 1), np.repeat(sw, k), n, np.ones_like(est))
        inset = dom.member & (frame["nw"].to_numpy() > 0)
        df = np.repeat(degf_by(stages, np.ones(len(frame)), dom.codes, dom.size, inset).astype(float), k)
        rows = np.repeat(np.full(dom.size, frame["nr"].sum()) if self.raking is not None else np.bincount(
            codes, weights=dom.only_members(frame["nr"].to_numpy()), minlength=dom.size), k)
        low, high = proportion_ci(method, est, var, level, df, n, rows)
        keys = dom.keys.loc[dom.keys.index.repeat(k)].reset_index(drop=True)
        keys[variable] = np.tile(np.asarray(levels), dom.size)
        return Estimate.from_vcov(keys, est, v, n, "proportion", level, deff, df, (low, high),
                                  {"ci_method": method.value}).to_frame()


def _linearised(kind: str, frame: pd.DataFrame, dsum, codes: np.ndarray) -> tuple:
    """(estimates, influence sums per grouped row, their sums of influence / weight when raked, the
    weighted sum of squared residuals per domain, the deff's scale), from the grouped sums."""
    col = frame.__getitem__
    sw, plain = dsum("sw"), "sy" in frame
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "mean":
            est = dsum("swy") / sw
            z = (col("swy").to_numpy() - est[codes] * col("sw").to_numpy()) / sw[codes]
            ratios = (col("sy").to_numpy() - est[codes] * col("nv").to_numpy()) / sw[codes] if plain else None
            return est, z, ratios, dsum("swyy") - 2 * est * dsum("swy") + est**2 * sw, np.ones(len(sw))
        if kind == "total":
            est = dsum("swy")
            m = est / sw
            ratios = col("sy").to_numpy() if plain else None
            return est, col("swy").to_numpy(), ratios, dsum("swyy") - 2 * m * est + m**2 * sw, sw**2
        xs = dsum("swx")
        est = dsum("swy") / xs
        z = (col("swy").to_numpy() - est[codes] * col("swx").to_numpy()) / xs[codes]
        ratios = (col("sy").to_numpy() - est[codes] * col("sx").to_numpy()) / xs[codes] if plain else None
        r2 = (dsum("swyy") - 2 * est * dsum("swyx") + est**2 * dsum("swxx")) / xs**2
        rbar = (dsum("swy") - est * xs) / xs / sw
        return est, z, ratios, r2 - rbar**2 * sw, sw**2

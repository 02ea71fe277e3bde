"""Roll-up tables: the sums a design's estimates need, kept in the database, built by one scan.

A linearised mean or total, raked or not, needs per sampling unit x domain x cell of the margin
variables only a few sums (:mod:`analysis.sql`): respondents, the sum of weights, of weighted values and
of their squares, and (for the raking residuals) the plain sum of values. A roll-up holds those sums at a
fixed grain (strata x PSUs x fpc x the domains' ids x the margin variables) for a list of numeric
indicators: one row per group of that grain instead of one per respondent (39,852 rows for 10,000,000
responses of 3,321 communes when communes are the PSUs, since a commune's and its province's ids are then
functions of the PSU). :meth:`analysis.sql.SqlDesign.with_rollup` makes a design whose raking and
estimates read it whenever it covers them (any domain among its columns, any indicator it holds, and the
proportions of an indicator whose every value is 0 or 1: the sums of its level 1 are its own, those of level 0
the rest; ratios, other proportions and other variables still read the rows).

Sums of sums are the same sums: an estimate from the roll-up equals the one from the rows up to the order
of the floating-point additions (tests/analysis/test_analysis_rollup.py checks 1e-10). The roll-up is a
snapshot: rows added after :func:`build` are not in it until the next build, which is what a background
refresh does ("figures as of 07:52", :attr:`Rollup.built_at`). :func:`build` makes the new table beside the
old one and swaps them in one transaction, so a reader sees one complete snapshot or the other.

:func:`as_design` makes a design in memory of a roll-up's groups for one indicator, for what needs the whole
linearisation rather than a few sums (the left-behind ranking's gaps to the overall mean, linearised jointly): a
group stands for its respondents with its sum of weights as its weight and its weighted mean as its value, so every
PSU's sums of w and w y in every domain, all a linearised mean and its variance read, are the respondents'.

Why hand-written: it is a ``CREATE TABLE ... AS SELECT ... GROUP BY`` and a rename; no library keeps the
linearisation's sufficient statistics of a survey design.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Rollup", "COMMON", "PER_INDICATOR", "build", "build_sets", "open_rollup", "as_design", "RESPONDENTS"]

COMMON = ("nr", "nw", "swall")  #: rows, rows of non-zero weight, sum of weights (every row)
#: per indicator: sum of weights, respondents (non-zero weight), sum of w y, of w y^2, of y (valid rows)
PER_INDICATOR = ("sw", "nv", "swy", "swyy", "sy")
#: per indicator besides: the valid rows whose value is neither 0 nor 1 (none: the roll-up serves its proportions)
NOT_BINARY = "nother"


@dataclass(frozen=True)
class Rollup:
    """A built roll-up: its table, its grain, the indicators it holds, when and from how many rows."""

    table: str
    keys: tuple[str, ...]
    indicators: tuple[str, ...]
    rows: int  #: rows of the source summed (sum of ``nr``)
    groups: int  #: rows of the roll-up
    built_at: dt.datetime  #: UTC, when the source was read
    binary: tuple[str, ...] = ()  #: the indicators whose every value is 0 or 1 (their proportions are served too)
    note: dict = field(default_factory=dict, compare=False)  #: what the builder keeps with it (what it was built from)

    def covers(self, keys: Sequence[str], indicator: str | None = None, proportion: bool = False) -> bool:
        """Whether an estimate grouped by ``keys`` (of ``indicator``; its ``proportion``s) can be read from this
        roll-up: a proportion only of an indicator whose values are all 0 or 1 (its two levels' sums are the
        indicator's)."""
        return set(keys) <= set(self.keys) and (indicator is None or indicator in self.indicators) and (
            not proportion or indicator in self.binary)

    @staticmethod
    def column(indicator: str, stat: str) -> str:
        """The roll-up's column holding ``stat`` (one of :data:`PER_INDICATOR`) of ``indicator``."""
        return f"{indicator}__{stat}"


def select_sql(source: str, keys: Sequence[str], indicators: Sequence[str], weight: str,
               q: Callable[[str], str]) -> str:
    """The roll-up's ``SELECT``: ``source`` (a table or sub-query) grouped by ``keys``, with ``weight`` the
    weight's SQL expression and ``q`` the dialect's identifier quoting."""
    key_sql = ", ".join(q(k) for k in keys)
    return f"SELECT {key_sql}, {', '.join(_sums(indicators, weight, q))} FROM {source} GROUP BY {key_sql}"


def _sums(indicators: Sequence[str], weight: str, q: Callable[[str], str]) -> list[str]:
    """The columns of sums of a roll-up's row: :data:`COMMON`, and :data:`PER_INDICATOR` and :data:`NOT_BINARY` of
    each indicator."""
    cols = ["CAST(COUNT(*) AS INTEGER) AS nr", f"CAST(COUNT(*) FILTER (WHERE {weight} <> 0) AS INTEGER) AS nw",
            f"SUM({weight}) AS swall"]
    for name in indicators:
        y, valid = f"CAST({q(name)} AS DOUBLE PRECISION)", f"{q(name)} IS NOT NULL"
        stats = {"sw": f"SUM({weight}) FILTER (WHERE {valid})",
                 "nv": f"CAST(COUNT(*) FILTER (WHERE {valid} AND {weight} <> 0) AS INTEGER)",
                 "swy": f"SUM({weight} * ({y})) FILTER (WHERE {valid})",
                 "swyy": f"SUM({weight} * ({y} * {y})) FILTER (WHERE {valid})",
                 "sy": f"SUM({y}) FILTER (WHERE {valid} AND {weight} <> 0)",
                 NOT_BINARY: f"CAST(COUNT(*) FILTER (WHERE {valid} AND {y} <> 0 AND {y} <> 1) AS INTEGER)"}
        cols += [f"COALESCE({expr}, 0) AS {q(Rollup.column(name, stat))}" for stat, expr in stats.items()]
    return cols


def build(engine, table: str, select: str, keys: Sequence[str], indicators: Sequence[str],
          q: Callable[[str], str], note: dict | None = None) -> Rollup:
    """Make ``table`` from ``select`` (:func:`select_sql`) in one transaction: the new table is written
    beside the old one, which is then dropped and replaced, with its description (``<table>__about``: the
    :class:`Rollup` another process reads with :func:`open_rollup`), so readers see one snapshot or the other."""
    with engine.begin() as conn:
        rollup = _swapped(conn, table, select, keys, indicators, dt.datetime.now(dt.UTC), q, note)
    _analysed(engine, [rollup], q)
    return rollup


def build_sets(engine, tables: Sequence[tuple[str, Sequence[str]]], source: str, indicators: Sequence[str],
               weight: str, q: Callable[[str], str], note: dict | None = None) -> list[Rollup]:
    """Make each roll-up of ``tables`` (its table and keys) of ``source`` in one transaction, as :func:`build` makes
    one: ``source`` is read once into a table of its own, dropped at the end (its indicators worked out once a row:
    reading them from JSON is most of a scan's cost; about 370 MB a million rows of 66 indicators), and each roll-up
    is one ``GROUP BY`` of it. On PostgreSQL by hashing, not
    sorting: a sort of 10,000,000 rows a few hundred columns wide, for each roll-up, took longer than an hour, and
    ``GROUPING SETS`` sorts once per set."""
    from sqlalchemy import text

    built_at = dt.datetime.now(dt.UTC)
    rows = f"{tables[0][0]}__rows"
    made = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL enable_sort = off"))  # the planner's count of groups is far too high
            conn.execute(text("SET LOCAL work_mem = '256MB'"))  # a hash table over this spills to disk
            kind = "UNLOGGED"  # not TEMPORARY: a temporary table is read by one process, this by parallel workers
        else:
            kind = "TEMPORARY"
        conn.execute(text(f"DROP TABLE IF EXISTS {q(rows)}"))
        conn.execute(text(f"CREATE {kind} TABLE {q(rows)} AS SELECT * FROM {source}"))
        for table, keys in tables:
            made.append(_swapped(conn, table, select_sql(q(rows), keys, indicators, weight, q), keys, indicators,
                                 built_at, q, note))
        conn.execute(text(f"DROP TABLE {q(rows)}"))
    _analysed(engine, made, q)
    return made


def _swapped(conn, table: str, select: str, keys: Sequence[str], indicators: Sequence[str], built_at: dt.datetime,
             q: Callable[[str], str], note: dict | None) -> Rollup:
    """``table`` made anew from ``select`` beside the old one, which it then replaces, with its description."""
    from sqlalchemy import text

    new, about = f"{table}__new", f"{table}__about"
    conn.execute(text(f"DROP TABLE IF EXISTS {q(new)}"))
    conn.execute(text(f"CREATE TABLE {q(new)} AS {select}"))
    others = [f"COALESCE(SUM({q(Rollup.column(name, NOT_BINARY))}), 0)" for name in indicators]
    counted = conn.execute(text(f"SELECT COALESCE(SUM(nr), 0), COUNT(*){''.join(', ' + o for o in others)} "
                                f"FROM {q(new)}")).one()
    rows, groups = counted[0], counted[1]
    binary = tuple(name for name, other in zip(indicators, counted[2:], strict=True) if int(other) == 0)
    rollup = Rollup(table, tuple(keys), tuple(indicators), int(rows), int(groups), built_at, binary, note or {})
    for name in (table, about):
        conn.execute(text(f"DROP TABLE IF EXISTS {q(name)}"))
    conn.execute(text(f"ALTER TABLE {q(new)} RENAME TO {q(table)}"))
    conn.execute(text(f"CREATE TABLE {q(about)} (description TEXT NOT NULL)"))
    conn.execute(text(f"INSERT INTO {q(about)} VALUES (:d)"), {"d": json.dumps(_describe(rollup))})
    return rollup


def _analysed(engine, made: Sequence[Rollup], q: Callable[[str], str]) -> None:
    """The statistics of each roll-up's keys, which the planner's estimates of a ``GROUP BY`` of them read (those of
    every column, a few hundred sums, took 4-8 s a roll-up of 19,000 rows on a slow host, against 0.25 s)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with engine.begin() as conn:
            for rollup in made:
                conn.execute(text(f"ANALYZE {q(rollup.table)} ({', '.join(q(k) for k in rollup.keys)})"))


def open_rollup(engine, table: str, q: Callable[[str], str]) -> Rollup:
    """The roll-up :func:`build` last made as ``table`` (in this process or another one)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        found = json.loads(conn.execute(text(f"SELECT description FROM {q(table + '__about')}")).scalar_one())
    return Rollup(table, tuple(found["keys"]), tuple(found["indicators"]), found["rows"], found["groups"],
                  dt.datetime.fromisoformat(found["built_at"]), tuple(found.get("binary", ())), found.get("note", {}))


def _describe(rollup: Rollup) -> dict:
    return {"keys": list(rollup.keys), "indicators": list(rollup.indicators), "rows": rollup.rows,
            "groups": rollup.groups, "built_at": rollup.built_at.isoformat(), "binary": list(rollup.binary), "note": rollup.note}


RESPONDENTS = "_respondents"  #: :func:`as_design`'s column of the respondents each of its rows stands for


def as_design(groups, indicator: str, strata: str, psu: str, lonely_psu: str = "adjust"):
    """A :class:`analysis.design.SurveyDesign` whose rows are the roll-up ``groups`` (a frame of the roll-up's rows:
    its keys, ``nr``, ``swall`` and ``indicator``'s :data:`PER_INDICATOR` columns), standing for their respondents
    for ``indicator``: a group's part with a value (weight: its sum of weights; ``indicator``: its weighted mean;
    :data:`RESPONDENTS`: how many) and, where some of its rows have none, their part (the rest of its weights, no
    value, none counted), so that a PSU whose respondents have no value still counts as one, as in the design of
    the rows. Means, their gaps and their variances are those of the design of the rows (to the order of the
    additions); counts are read from :data:`RESPONDENTS` (``left_behind(..., respondents=RESPONDENTS)``). The
    weights are taken as fixed, as a design in memory with calibrated weights it was built from treats them."""
    from analysis.design import SurveyDesign
    from analysis.lazy import numpy as np
    from analysis.lazy import pandas as pd

    sw, nv = Rollup.column(indicator, "sw"), Rollup.column(indicator, "nv")
    sums = groups[[sw, nv, Rollup.column(indicator, "swy")]].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(sums[:, 0] != 0, sums[:, 2] / sums[:, 0], np.nan)
    keys = [c for c in groups.columns if c not in COMMON and "__" not in c]
    valid = groups[keys].assign(**{"_weight": sums[:, 0], indicator: mean, RESPONDENTS: sums[:, 1]})
    valid = valid[(sums[:, 1] > 0) | (sums[:, 0] != 0)]
    rest = groups["nr"].to_numpy(dtype="float64") > sums[:, 1]
    missing = groups.loc[rest, keys].assign(**{
        "_weight": np.maximum(groups.loc[rest, "swall"].to_numpy(dtype="float64") - sums[rest, 0], 0.0),
        indicator: np.nan, RESPONDENTS: 0.0})
    rows = pd.concat([valid, missing], ignore_index=True)
    return SurveyDesign(rows, weights="_weight", strata=strata, psu=psu, lonely_psu=lonely_psu)

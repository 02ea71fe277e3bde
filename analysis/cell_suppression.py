"""Cell suppression for frequency tables: primary (small cells) and secondary (complementary) suppression,
with an audit that solves each table's linear system, as τ-ARGUS and sdcTable protect and audit tables.

A family of linked tables is cut from one cube: an area hierarchy (province > former district > ward,
or province > ward) crossed with categorical groups. Every published table is a level of the area
hierarchy crossed with a set of groups; its *margins* are the tables one step coarser (a group
dropped, or the area one level up), and all of them are published too. Cells with respondents whose
group is missing are never shown; an intruder is assumed to know their counts (the careful assumption:
a required question has none), so they carry no protection.

Protection is top-down, as in τ-ARGUS's HiTaS: the tables are protected from the coarsest (the whole
city) to the finest, and a table's margins keep the pattern they were given as tables of their own;
only the table's own cells can be suppressed in addition. Every table of the family therefore shows
the same pattern wherever two tables share a cell, whichever of them is asked for first.

Within a table, a cell with fewer than ``min_count`` respondents (but at least one) is suppressed
(primary). Then complementary cells are suppressed until, for every suppressed cell, the smallest and
largest values consistent with everything published (minimise and maximise the cell subject to the
additive relations, the published cells and 0 <= cell <= the grand total; scipy's HiGHS, as sdcTable's
``attack``) lie a protection interval apart: low <= a - d and up >= a + d with
d = max(1, ceil(protection * a)) for primary cells; a complementary cell needs only not to be exact.
The heuristic picks, for an exposed cell, the smallest shown cell in one of its relations that is large
enough to give it room (τ-ARGUS's ``MOD``/``GH`` options are better optimisers; the audit is what makes
the result safe, and it runs on every table this module returns).

A family counts its respondents once, into the cube of every finest area x groups cell, and cuts every
table from that cube; it does not keep the records. The pattern is a pure function of the cube and the
parameters (levels, groups, area attributes, ``min_count``, ``protection``), so the tables protected so
far are shared, process-wide, by every family over identical counts (a bounded LRU memo keyed by a
SHA-256 of the sorted cube and the parameters; a lock guards the memo, and each shared set of tables
has its own lock, held while a table is protected): a new set of weights over the same respondents,
a second worker thread or a second request reuses the tables already protected instead of solving
the linear programs again. :func:`forget` empties the memo. Another process takes them as JSON
(:meth:`TableFamily.patterns`, :meth:`TableFamily.adopt`): the web app shares them between its workers.

Hand-written (numpy, scipy) because no maintained Python library does secondary suppression with an
audit on linked hierarchical tables (reviewed 2026-11 on PyPI: ``acro`` checks threshold and
dominance rules without secondary suppression, ``piargus`` drives a τ-ARGUS executable, ``pytauargus``
0.6.0 was new and unassessed).

References
----------
Hundepool, A. et al. (2012). Statistical Disclosure Control, ch. 4 (tabular data). Wiley.
de Wolf, P.-P. (2002). HiTaS: a heuristic approach to cell suppression in hierarchical tables.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from cachetools import LRUCache

from analysis.lazy import csgraph, highspy, sparse
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd

TOTAL = "*"  #: a group (or the area) summed over
MISSING = "?"  #: respondents whose group (or area) is missing
MEMO_SIZE = 32  #: how many sets of protected tables (one per cube and parameters) the process keeps


@dataclass(frozen=True)
class Relation:
    """``total`` equals the sum of ``parts`` (cell keys)."""

    total: tuple
    parts: tuple[tuple, ...]


@dataclass
class Audit:
    """The feasibility interval of each suppressed cell and whether it is wide enough."""

    low: dict[tuple, float] = field(default_factory=dict)
    high: dict[tuple, float] = field(default_factory=dict)
    exposed: list[tuple] = field(default_factory=list)  #: cells whose interval is too narrow


def protection_distance(value: float, protection: float) -> float:
    """How far a suppressed primary cell must be able to move either way: max(1, ceil(protection * value))."""
    return max(1.0, math.ceil(protection * value - 1e-9))


def audit(values: dict[tuple, float], hidden: set[tuple], relations: Sequence[Relation], *,
          primary: set[tuple] | None = None, protection: float = 0.0, audited: set[tuple] | None = None,
          upper: float | None = None, cache: dict | None = None, exact: bool = False) -> Audit:
    """Attack the suppressed cells: min and max of each one subject to the relations and published cells.

    ``values`` are the true cell values, ``hidden`` the suppressed cells (everything else is published),
    ``primary`` the cells that need the protection interval (others need only not to be exact), and
    ``upper`` the bound an intruder puts on any cell (default: the largest value). ``cache`` (a dict
    kept between calls on the same table) skips the blocks of suppressed cells that have not changed.
    With ``exact`` the interval of every cell is its exact range (two LPs each, as sdcTable's attack);
    otherwise the interval of a protected cell may be reported narrower than it is, but still wide enough.
    """
    primary = primary or set()
    targets = sorted(hidden if audited is None else (audited & hidden), key=repr)
    result = Audit()
    if not targets:
        return result
    variables = sorted(hidden, key=repr)
    index = {c: i for i, c in enumerate(variables)}
    matrix, rhs_array = _equations(values, index, relations)
    bound = float(upper if upper is not None else max(values.values(), default=0.0))
    variable_labels, row_labels = _blocks(matrix)
    for component in np.unique(variable_labels[[index[c] for c in targets]]):
        members = np.flatnonzero(variable_labels == component)
        equations = np.flatnonzero(row_labels == component)
        block = frozenset(variables[int(v)] for v in members)
        known = cache.setdefault(block, {}) if cache is not None else {}
        truth = np.array([values.get(variables[int(v)], 0.0) for v in members])
        ranges = _Ranges(matrix[equations][:, members], rhs_array[equations], bound, truth)
        position = {variables[int(v)]: k for k, v in enumerate(members)}
        for cell in (c for c in targets if c in position):
            value = values.get(cell, 0.0)
            d = protection_distance(value, protection) if cell in primary else None
            if cell not in known:
                known[cell] = ranges.interval(position[cell], value, d, exact)
            low, high = known[cell]
            result.low[cell], result.high[cell] = low, high
            ok = (low <= value - d + 1e-6 and high >= value + d - 1e-6) if d is not None else high - low > 1e-6
            if not ok:
                result.exposed.append(cell)
    return result


def _equations(values: dict[tuple, float], index: dict[tuple, int], relations: Sequence[Relation]):
    """The relations that involve a suppressed cell, as ``matrix @ x == rhs`` over the suppressed cells
    (``index``: cell -> column), the published cells moved to the right-hand side."""
    rows, cols, data, rhs = [], [], [], []
    for relation in relations:
        cells = [(relation.total, -1.0), *((p, 1.0) for p in relation.parts)]
        if not any(c in index for c, _ in cells):
            continue
        known = 0.0
        r = len(rhs)
        for cell, sign in cells:
            if cell in index:
                rows.append(r)
                cols.append(index[cell])
                data.append(sign)
            else:
                known += sign * values.get(cell, 0.0)
        rhs.append(-known)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(rhs), len(index))), np.asarray(rhs)


def _neighbours(exposed: list[tuple], relations: Sequence[Relation], shown: set[tuple]) -> set[tuple]:
    """The ``shown`` cells that share a relation with an exposed cell."""
    return {c for r in relations for c in (r.total, *r.parts) if c in shown
            and any(e == r.total or e in r.parts for e in exposed)}


def _blocks(matrix) -> tuple[np.ndarray, np.ndarray]:
    """The independent blocks of the system: a block label for each variable and each equation."""
    n_rows, n_vars = matrix.shape
    graph = sparse.bmat([[None, matrix], [matrix.T, None]]) if n_rows else sparse.csr_matrix((n_vars, n_vars))
    _, labels = csgraph.connected_components(graph, directed=False)
    variable_labels = labels[n_rows:] if n_rows else labels
    row_labels = labels[:n_rows] if n_rows else np.array([], dtype=int)
    return variable_labels, row_labels


class _Ranges:
    """How far each variable can move subject to ``matrix @ x == rhs``, 0 <= x <= bound.

    One HiGHS model per connected block of suppressed cells, re-solved with a new objective for each
    cell. Every solution is a feasible table, so it shows how far *every* cell can at least go: a cell
    whose protection those solutions already show needs no solve of its own. Measured on the demo's
    126 wards x 4 age bands x 2 sexes (1,488 cells to check): 37 s solving two LPs per cell, a few
    seconds with this shortcut; separate ``scipy.optimize.linprog`` calls were slower still."""

    def __init__(self, matrix, rhs: np.ndarray, bound: float, truth: np.ndarray) -> None:
        self.size, self.bound = matrix.shape[1], bound
        self.low, self.high = truth.astype(float).copy(), truth.astype(float).copy()
        self.highs = None
        if matrix.shape[0] == 0:  # no relation constrains these cells: anything from 0 to the bound
            self.low[:], self.high[:] = 0.0, bound
            return
        csc = sparse.csc_matrix(matrix)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
        lp.col_cost_ = np.zeros(self.size)
        lp.col_lower_ = np.zeros(self.size)
        lp.col_upper_ = np.full(self.size, bound)
        lp.row_lower_ = np.asarray(rhs, dtype=float)
        lp.row_upper_ = np.asarray(rhs, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr
        lp.a_matrix_.index_ = csc.indices
        lp.a_matrix_.value_ = csc.data
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)

    def _solve(self, k: int, sense) -> float:
        self.highs.changeColCost(k, 1.0)
        self.highs.changeObjectiveSense(sense)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise ValueError(f"the published table is inconsistent: {self.highs.modelStatusToString(status)}")
        x = np.asarray(self.highs.getSolution().col_value)
        objective = float(self.highs.getInfo().objective_function_value)
        self.highs.changeColCost(k, 0.0)
        np.minimum(self.low, x, out=self.low)
        np.maximum(self.high, x, out=self.high)
        return objective

    def interval(self, k: int, value: float, distance: float | None, exact: bool) -> tuple[float, float]:
        """The interval cell ``k`` (true ``value``) can take: exact with ``exact``; else wide enough to show
        that it moves ``distance`` both ways (None: that it moves at all), or exact where it does not."""
        if self.highs is None:
            return float(self.low[k]), float(self.high[k])
        minimise, maximise = highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize
        if exact:
            return self._solve(k, minimise), self._solve(k, maximise)
        if distance is None:
            if self.high[k] - self.low[k] <= 1e-6:
                self._solve(k, maximise)
            if self.high[k] - self.low[k] <= 1e-6:
                self._solve(k, minimise)
            return float(self.low[k]), float(self.high[k])
        if self.low[k] > value - distance + 1e-6:
            self._solve(k, minimise)
        if self.high[k] < value + distance - 1e-6:
            self._solve(k, maximise)
        return float(self.low[k]), float(self.high[k])


@dataclass(frozen=True)
class Table:
    """One protected table of the family: its cells with counts and whether each is suppressed."""

    level: str | None  #: the area column, None for the whole province
    groups: tuple[str, ...]
    cells: pd.DataFrame  #: the key columns, ``n``, ``primary`` and ``suppressed``
    withheld: bool = False  #: no pattern protects it given its published margins: nothing of it is shown


class _Protected:
    """The tables protected so far over one cube and set of parameters, shared by every family over them."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key  #: the digest of the cube and parameters (None: not shared)
        self.lock = threading.RLock()  #: held while a table is protected (a table protects its margins first)
        self.hidden: dict[tuple, bool] = {}
        self.withheld: set[tuple] = set()  #: cells of tables that cannot be shown: hidden, owed no protection
        self.counts: dict[tuple, float] = {}
        self.counted: set[tuple] = set()  #: the tables whose cells are in ``counts``
        self.tables: dict[tuple, Table] = {}


_memo: LRUCache = LRUCache(maxsize=MEMO_SIZE)  #: digest of cube and parameters -> :class:`_Protected`
_memo_lock = threading.Lock()


def forget() -> None:
    """Empty the process-wide memo of protected tables (the next family protects its tables afresh)."""
    with _memo_lock:
        _memo.clear()


def _protected(cube: pd.Series, parameters: tuple) -> _Protected:
    """The shared tables over ``cube`` (counts by every key column) and ``parameters``, made if new."""
    keys = cube.index.to_frame(index=False)
    order = keys.sort_values(list(keys.columns)).index.to_numpy() if len(keys.columns) else []
    digest = hashlib.sha256(json.dumps([list(map(str, keys.columns)), repr(parameters)]).encode())
    for column in keys.columns:
        digest.update(json.dumps(keys[column].to_numpy()[order].tolist()).encode())
    digest.update(cube.to_numpy(dtype=np.int64)[order].tobytes())
    key = digest.hexdigest()
    with _memo_lock:
        found = _memo.get(key)
        if found is None:
            found = _memo[key] = _Protected(key)
        return found


def _cube(keys: pd.DataFrame, columns: list[str], counts: np.ndarray | None) -> pd.Series:
    """The count of each combination of ``columns`` in ``keys`` (each row counting ``counts`` of it, else 1)."""
    if not columns:
        return pd.Series(dtype=np.int64)
    if counts is None:
        return keys.groupby(columns, sort=False).size()
    grouped = keys.assign(_count=np.asarray(counts, dtype=np.int64)).groupby(columns, sort=False)["_count"].sum()
    return grouped[grouped > 0].rename(None)


class TableFamily:
    """The linked tables of one indicator: protect any of them consistently with all the others.

    ``records`` holds one row per respondent counted (e.g. those who answered the indicator), with the
    area columns in ``area_levels`` from the coarsest to the finest (e.g. ``["former_district",
    "ward_code"]``; each finer unit lies in exactly one coarser unit) and the group columns. Only their
    counts are kept; with ``shared`` (the default) the family uses the tables already protected by any
    family over the same counts and parameters, and leaves its own for the next. ``counts``: how many
    respondents each record stands for (records already grouped, e.g. by a database), else one each.
    """

    def __init__(self, records: pd.DataFrame, area_levels: Sequence[str], groups: Sequence[str], *,
                 min_count: int, protection: float = 0.1, area_attributes: Sequence[str] = (),
                 shared: bool = True, counts: np.ndarray | None = None) -> None:
        self.area_levels = list(area_levels)
        self.groups = list(groups)
        self.min_count = min_count
        self.protection = protection
        self.total = float(len(records) if counts is None else np.sum(counts))
        columns = list(dict.fromkeys([*self.area_levels, *self.groups]))
        keys = pd.DataFrame({c: records[c].map(code_text) for c in columns}, index=records.index, columns=columns)
        #: the count of every finest cell (each area level and group, missing values included)
        self.cube = _cube(keys, columns, counts)
        keys = self.cube.index.to_frame(index=False) if columns else keys
        self.parent: dict[str, dict] = {}
        for coarse, fine in itertools.pairwise(self.area_levels):
            pairs = keys.loc[keys[fine] != MISSING, [fine, coarse]].drop_duplicates()
            if pairs[fine].duplicated().any():
                raise ValueError(f"a {fine} lies in more than one {coarse}")
            self.parent[fine] = dict(zip(pairs[fine], pairs[coarse], strict=True))
        self.categories = {c: sorted(set(keys[c]) - {MISSING}, key=_sort_key) for c in columns}
        #: groups that are a property of the finest area (e.g. urban ward or rural commune): finest unit -> value
        self.attribute_of: dict[str, dict] = {}
        if self.area_levels:
            finest = self.area_levels[-1]
            for attribute in (a for a in area_attributes if a in self.groups):
                pairs = keys.loc[keys[finest] != MISSING, [finest, attribute]].drop_duplicates()
                if pairs[finest].duplicated().any():
                    raise ValueError(f"{attribute} is not a property of {finest}: a {finest} has several values")
                self.attribute_of[attribute] = dict(zip(pairs[finest], pairs[attribute], strict=True))
        parameters = (tuple(self.area_levels), tuple(self.groups), min_count, protection, tuple(self.attribute_of))
        self._shared = _protected(self.cube, parameters) if shared else _Protected()
        self._hidden, self._withheld = self._shared.hidden, self._shared.withheld
        self._counts, self._tables = self._shared.counts, self._shared.tables
        self._cell_lists: dict[tuple, list[tuple]] = {}  #: (level, groups, missing) -> its cells, made once
        #: finer level -> coarser unit -> its finer units (and MISSING), in category order
        self._children: dict[str, dict[str, list[str]]] = {}
        for fine in self.area_levels[1:]:
            self._children[fine] = {}
            for unit in [*self.categories[fine], MISSING]:
                self._children[fine].setdefault(self.parent[fine].get(unit, MISSING), []).append(unit)

    @property
    def key(self) -> str | None:
        """The digest of the family's counts and parameters (None when not ``shared``): families with the same
        key protect every table the same way, in any process."""
        return self._shared.key

    @property
    def protected(self) -> int:
        """How many tables over these counts and parameters are protected so far (in this process)."""
        return len(self._tables)

    def patterns(self) -> dict:
        """The tables protected so far, as JSON for another process (:meth:`adopt`): the key, and for each
        table in the order it was protected (margins first) its level, groups, whether it is withheld and the
        positions of its suppressed cells among its cells."""
        with self._shared.lock:
            tables = [[level, list(groups), table.withheld,
                       [i for i, c in enumerate(self._cells(level, groups)) if self._hidden.get(c)]]
                      for (level, groups), table in list(self._tables.items())]
        return {"key": self.key, "tables": tables}

    def adopt(self, patterns: dict) -> int:
        """Take the tables another process protected over the same counts and parameters (:meth:`patterns`),
        instead of solving their linear programs again; how many were new here (none when the key differs).
        The pattern of a table depends only on the key, so an adopted table is the one this process would
        have made."""
        if self.key is None or patterns.get("key") != self.key:
            return 0
        tables = [self._saved_table(*saved) for saved in patterns["tables"]]  # all checked before any is taken
        adopted = 0
        with self._shared.lock:
            for level, groups, withheld, own, hidden in tables:
                if (level, groups) in self._tables:
                    continue
                self._count_table(level, groups)
                values = {c: self._counts.get(c, 0.0) for c in own}
                for c in own:
                    self._hidden[c] = c in hidden
                if withheld:
                    self._withheld |= set(own)
                primary = {c for c in own if 0 < values[c] < self.min_count}
                self._tables[(level, groups)] = self._table(level, groups, own, values, primary, hidden, withheld)
                adopted += 1
        return adopted

    def _saved_table(self, level: str | None, groups: list, withheld: bool, positions: list) -> tuple:
        """A table of :meth:`patterns` as (level, groups, withheld, its cells, those hidden); ValueError when
        it is not a table of this family."""
        if level not in (None, *self.area_levels) or not set(groups) <= set(self.groups):
            raise ValueError(f"not a table of this family: {level!r} by {groups!r}")
        groups = tuple(g for g in self.groups if g in groups)
        own = self._cells(level, groups)
        if not all(isinstance(i, int) and 0 <= i < len(own) for i in positions):
            raise ValueError(f"not cells of the table {level!r} by {groups!r}")
        return level, groups, bool(withheld), own, {own[i] for i in positions}

    # cells are tuples: (area level or None, area code or TOTAL, value of each group in self.groups order)

    def _count_table(self, level: str | None, groups: tuple[str, ...]) -> None:
        """Count every cell of the table (level, groups), missing values included, from the cube."""
        if (level, groups) in self._shared.counted:
            return
        self._shared.counted.add((level, groups))
        by = ([level] if level else []) + list(groups)
        if not by:
            self._counts[self._cell(None, {})] = self.total
            return
        for key, n in self.cube.groupby(level=by, sort=False).sum().items():
            key = key if isinstance(key, tuple) else (key,)
            self._counts[self._cell(level, dict(zip(by, key, strict=True)))] = float(n)

    def _cell(self, level: str | None, values: dict) -> tuple:
        return (level, values.get(level, TOTAL) if level else TOTAL, *(values.get(g, TOTAL) for g in self.groups))

    def _cells(self, level: str | None, groups: tuple[str, ...], missing: bool = False) -> list[tuple]:
        """The cells of the table (level, groups); with ``missing``, also those with a missing value."""
        key = (level, groups, missing)
        if key not in self._cell_lists:
            extra = [MISSING] if missing else []
            lists = ([self.categories[level] + extra] if level else []) + [self.categories[g] + extra for g in groups]
            by = ([level] if level else []) + list(groups)
            self._cell_lists[key] = [self._cell(level, dict(zip(by, combo, strict=True)))
                                     for combo in itertools.product(*lists)]
        return self._cell_lists[key]

    def _margins(self, level: str | None, groups: tuple[str, ...]) -> list[tuple[str | None, tuple[str, ...]]]:
        """The tables one step coarser than (level, groups)."""
        out = [(level, tuple(g for g in groups if g != dropped)) for dropped in groups]
        if level:
            i = self.area_levels.index(level)
            out.append((self.area_levels[i - 1] if i else None, groups))
        if level is not None and level == self.area_levels[-1]:  # an area attribute adds up finest units too
            for attribute in self.attribute_of:
                if attribute not in groups:
                    with_it = tuple(g for g in self.groups if g in groups or g == attribute)
                    out.extend((coarse, with_it) for coarse in [None, *self.area_levels[:-1]])
        return out

    def _ancestor(self, unit: str, level: str | None) -> str:
        """The unit at ``level`` (None: the province) that a finest-level ``unit`` lies in."""
        if level is None:
            return TOTAL
        for coarse, fine in reversed(list(itertools.pairwise(self.area_levels))):
            unit = self.parent[fine].get(unit, MISSING)
            if coarse == level:
                return unit
        return unit

    def _closure(self, level: str | None, groups: tuple[str, ...]) -> list[tuple[str | None, tuple[str, ...]]]:
        """The table and every table coarser than it, coarsest first."""
        seen = {(level, groups)}
        todo = [(level, groups)]
        while todo:
            for margin in self._margins(*todo.pop()):
                if margin not in seen:
                    seen.add(margin)
                    todo.append(margin)
        return sorted(seen, key=lambda t: (len(t[1]) + (self.area_levels.index(t[0]) + 1 if t[0] else 0), repr(t)))

    def _relations(self, tables: list[tuple[str | None, tuple[str, ...]]]) -> list[Relation]:
        """Each cell of a coarser table in ``tables`` as the sum of the cells one step finer."""
        out = []
        present = set(tables)
        for level, groups in tables:
            for finer_group in self.groups:
                finer = (level, tuple(g for g in self.groups if g in groups or g == finer_group))
                if finer_group in groups or finer not in present:
                    continue
                for cell in self._cells(level, groups, missing=True):
                    position = 2 + self.groups.index(finer_group)
                    parts = tuple(cell[:position] + (v,) + cell[position + 1:]
                                  for v in [*self.categories[finer_group], MISSING])
                    out.append(Relation(cell, parts))
            levels = [None, *self.area_levels]
            finer_level = levels[levels.index(level) + 1] if levels.index(level) + 1 < len(levels) else None
            if finer_level and (finer_level, groups) in present:
                for cell in self._cells(level, groups, missing=True):
                    children = ([*self.categories[finer_level], MISSING] if level is None
                                else self._children[finer_level].get(cell[1], []))
                    out.append(Relation(cell, tuple((finer_level, c, *cell[2:]) for c in children)))
            out.extend(self._attribute_relations(level, groups, present))
        return out

    def _attribute_relations(self, level: str | None, groups: tuple[str, ...], present: set) -> list[Relation]:
        """A cell of an area attribute (urban wards, say) as the sum of the finest units that have it."""
        out = []
        finest = self.area_levels[-1] if self.area_levels else None
        for attribute, of in self.attribute_of.items():
            rest = tuple(g for g in groups if g != attribute)
            if attribute not in groups or level == finest or (finest, rest) not in present:
                continue
            position = 2 + self.groups.index(attribute)
            units_of: dict[tuple, list[str]] = {}  # (attribute value, unit at ``level``) -> finest units
            for unit in self.categories[finest]:
                units_of.setdefault((of.get(unit), self._ancestor(unit, level)), []).append(unit)
            for cell in self._cells(level, groups):
                units = units_of.get((cell[position], cell[1]), [])
                parts = tuple((finest, u, *cell[2:position], TOTAL, *cell[position + 1:]) for u in units)
                out.append(Relation(cell, parts))
        return out

    def table(self, level: str | None, groups: Sequence[str]) -> Table:
        """The protected table (area ``level`` or None, crossed with ``groups``), protecting its margins first."""
        groups = tuple(g for g in self.groups if g in groups)
        if level is not None and level not in self.area_levels:
            raise ValueError(f"unknown area level {level!r}; levels: {self.area_levels}")
        key = (level, groups)
        with self._shared.lock:
            if key not in self._tables:
                for margin in self._margins(level, groups):
                    self.table(*margin)
                self._protect(level, groups)
            return self._tables[key]

    def _protect(self, level: str | None, groups: tuple[str, ...]) -> None:
        closure = self._closure(level, groups)
        for t in closure:
            self._count_table(*t)
        own = self._cells(level, groups)
        values = {c: self._counts.get(c, 0.0) for t in closure for c in self._cells(*t, missing=True)}
        primary = {c for c in own if 0 < values[c] < self.min_count}
        hidden = {c for t in closure if t != (level, groups) for c in self._cells(*t) if self._hidden.get(c)}
        hidden |= primary
        relations = self._relations(closure)
        candidates = {c for c in own if values[c] > 0}
        # a cell that is the only part of a shown total (the one urban ward of a former district) is shown
        # already, whatever this table does: hiding it would protect nothing
        candidates -= {r.parts[0] for r in relations if len(r.parts) == 1 and r.total not in hidden}
        fixed_primary = {c for c in hidden - set(own) if self._is_primary(c, values)}
        everything_primary = primary | fixed_primary
        upper = values.get(self._cell(None, {}), 0.0)
        cache: dict = {}
        withheld = False
        while True:
            self._local_pass(values, hidden, relations, candidates, everything_primary)
            result = audit(values, hidden, relations, primary=everything_primary, protection=self.protection,
                           upper=upper, cache=cache, audited=hidden - self._withheld)
            if not result.exposed:
                break
            added = set()
            for cell in result.exposed:
                complement = self._complement(cell, values, hidden | added, relations, candidates,
                                              everything_primary)
                if complement is not None:
                    added.add(complement)
            if not added:  # nothing left that would help: hide every shown cell next to the exposed ones
                added = _neighbours(result.exposed, relations, candidates - hidden)
                if not added:  # the published margins pin a cell down: the table cannot be shown at all
                    withheld = True
                    hidden |= set(own)
                    self._withheld |= set(own)
                    break
            hidden |= added
        for c in own:
            self._hidden[c] = c in hidden
        self._tables[(level, groups)] = self._table(level, groups, own, values, primary, hidden, withheld)

    def _table(self, level: str | None, groups: tuple[str, ...], own: list, values: dict, primary: set,
               hidden: set, withheld: bool) -> Table:
        """The protected table: a row per cell with its count and whether it is primary and suppressed."""
        by = ([level] if level else []) + list(groups)
        rows = [{**dict(zip(by, [c[1]] * bool(level) + [c[2 + self.groups.index(g)] for g in groups],
                            strict=True)), "n": values[c], "primary": c in primary, "suppressed": c in hidden}
                for c in own]
        return Table(level, groups, pd.DataFrame(rows, columns=[*by, "n", "primary", "suppressed"]), withheld)

    def _local_pass(self, values: dict, hidden: set, relations: Sequence[Relation], candidates: set,
                    primary: set) -> None:
        """Suppress more cells until, in every relation, each suppressed cell has partners that let it move
        its protection distance both ways (a necessary condition, checked cheaply before the audit)."""
        changed = True
        while changed:
            changed = False
            for relation in relations:
                cells = (relation.total, *relation.parts)
                if not any(c in hidden for c in cells):
                    continue
                for cell in cells:
                    if cell not in hidden or cell in self._withheld:
                        continue
                    need = protection_distance(values.get(cell, 0.0), self.protection) if cell in primary else 1.0
                    partner = self._missing_partner(cell, relation, values, hidden, need)
                    if partner is None:
                        continue
                    options = [c for c in partner if c in candidates and c not in hidden]
                    if options:
                        hidden.add(min(options, key=lambda c: (values[c] < need, values[c], repr(c))))
                        changed = True

    @staticmethod
    def _missing_partner(cell: tuple, relation: Relation, values: dict, hidden: set,
                         need: float) -> list[tuple] | None:
        """None when ``cell`` can move ``need`` up and down within ``relation``; else the cells of which one
        must be suppressed too."""
        others = [p for p in relation.parts if p != cell]
        hidden_parts = [p for p in others if p in hidden]
        if cell == relation.total:
            up = bool(hidden_parts)
            down = any(values.get(p, 0.0) >= need for p in hidden_parts)
            return None if up and down else others
        total_hidden = relation.total in hidden
        up = total_hidden or any(values.get(p, 0.0) >= need for p in hidden_parts)
        down = bool(hidden_parts) or (total_hidden and values.get(relation.total, 0.0) >= need)
        return None if up and down else [*others, relation.total]

    def _is_primary(self, cell: tuple, values: dict) -> bool:
        return 0 < values.get(cell, 0.0) < self.min_count

    def _complement(self, cell: tuple, values: dict, hidden: set, relations: Sequence[Relation],
                    candidates: set, primary: set) -> tuple | None:
        """The shown cell to suppress next to protect ``cell``: in one of its relations, large enough to
        give it its protection distance, as small as possible."""
        need = protection_distance(values.get(cell, 0.0), self.protection) if cell in primary else 1.0
        options = {c for r in relations if cell == r.total or cell in r.parts
                   for c in (r.total, *r.parts) if c in candidates and c not in hidden}
        if not options:
            return None
        return min(options, key=lambda c: (values[c] < need, values[c], repr(c)))

    def all_relations(self, tables: Sequence[tuple[str | None, Sequence[str]]]) -> tuple[dict, set, list, set, set]:
        """For an audit of several published tables together: the values, the suppressed cells, the
        relations and the primary cells of those tables and their margins, and the cells of withheld
        tables among them (hidden, but never published, so owed no protection)."""
        closure: set = set()
        with self._shared.lock:
            for level, groups in tables:
                self.table(level, groups)
                closure |= set(self._closure(level, tuple(g for g in self.groups if g in groups)))
            ordered = sorted(closure, key=repr)
            values = {c: self._counts.get(c, 0.0) for t in ordered for c in self._cells(*t, missing=True)}
            hidden = {c for t in ordered for c in self._cells(*t) if self._hidden.get(c)}
            withheld = hidden & self._withheld
        primary = {c for c in hidden if self._is_primary(c, values)}
        return values, hidden, self._relations(ordered), primary, withheld


def code_text(value: Hashable) -> str:
    """A key value as text ("2", not 2.0); missing as :data:`MISSING`."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return MISSING
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sort_key(value: str) -> tuple:
    return (0, float(value), value) if value.replace(".", "", 1).lstrip("-").isdigit() else (1, 0.0, value)

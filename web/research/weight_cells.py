"""The served weights as weighting cells: what a microdata export joins to each row instead of holding the
weighted design in memory.

A final weight is made from a response's stored base weight by raking (a factor per cell of the margins:
the ward or province, sex, age band), trimming (which depends only on the weight) and raking again, so
every response of the design with the same stream, ward, sex, age band and stored base weight has the same
final weight. :func:`of_design` groups the served design (:class:`web.research.weighting.Weighted`) by
that key: one row per cell (tens of thousands at most: 3,321 communes x 2 sexes x 6 age bands), and the
few responses whose weight their cell does not fix (a non-response adjustment of their household's class)
listed one by one. Responses newer than the design (``newest``) get no weight, as when the design was
joined by response id: the file says what the served figures say.

The cells are saved beside the design's snapshot (:mod:`web.research.snapshots`, key ``<survey>:cells``)
whenever a worker makes a design, so that any worker streams a file of any size with the last complete
weights (:func:`served`) without reading the responses twice.

A survey of more than ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` responses (its design in memory would take about 4 GiB
a million) gets its cells without a design: the database groups its responses into the cross-table
(:mod:`web.research.cross_table`) and :func:`web.research.raking.weigh`, the code the design is weighted by,
rakes and trims it (:func:`of_cross_table`), the same cells to rounding; its weighting run makes only these
(:func:`refresh`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from analysis import weight_diagnostics
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas
from surveys.messages import Message
from web.research import cross_table, raking, snapshots
from web.research.weighting import (
    ON_BUILT,
    Stamp,
    Weighted,
    check_code_lists,
    chosen_margins,
    coded,
    current,
    data_stamp_of,
    snapshot_key,
    too_large,
)
from web.tables import response_count

KEY = ["stream", "ward_code", "sex", "age_band", "base_weight"]


@dataclass(frozen=True, eq=False)
class Cells:
    """The final weight of each weighting cell, of the responses weighted one by one, and the newest
    response the design holds."""

    table: pd.DataFrame  #: the columns of :data:`KEY` and ``weight``
    single: dict[int, float] = field(default_factory=dict)  #: response id -> weight
    newest: int = 0
    #: how they were made, for the weighting page (:func:`of_cross_table`'s, as JSON): ``diagnostics`` (one dict per
    #: step, as :attr:`web.research.weighting.Weighted.diagnostics`), ``method``, ``level``, ``problem`` (a message's
    #: code and params, or None) and ``unrepresented`` (wards with margins but no respondents)
    report: dict = field(default_factory=dict)

    def weights(self, chunk: pd.DataFrame) -> pd.Series:
        """The final weight of each row of a chunk of :func:`web.tables.iter_frames` (NaN: not weighted)."""
        keys = cell_keys(chunk, "weight")
        found = keys.merge(self.table, on=KEY, how="left")["weight"].to_numpy(dtype="float64", copy=True)
        ids = chunk["response_id"].to_numpy(dtype="int64")
        if self.single:
            one = pd.Series(ids).map(self.single).to_numpy(dtype="float64")
            found = np.where(np.isnan(one), found, one)
        found[ids > self.newest] = np.nan
        return pd.Series(found, index=chunk.index, dtype="float64")

    def lookup(self) -> Callable[[int, tuple], float | None]:
        """The rule of :meth:`weights` one row at a time: ``weight(response_id, key)`` with the key as
        :func:`cell_keys` writes it (stream, ward or -1, sex, age band, base weight); None: not weighted. A dict
        lookup, for code that holds rows rather than frames (:mod:`web.research.fragments`)."""
        t = self.table
        cells = dict(zip(zip(t["stream"].tolist(), t["ward_code"].astype("int64").tolist(), t["sex"].tolist(),
                             t["age_band"].tolist(), t["base_weight"].astype("float64").tolist(), strict=True),
                         t["weight"].astype("float64").tolist(), strict=True))
        single = {int(k): float(v) for k, v in self.single.items() if v == v}  # NaN: the cell's weight
        newest = self.newest

        def weight(response_id: int, key: tuple) -> float | None:
            found = None if response_id > newest else single.get(response_id, cells.get(key))
            return None if found is None or found != found else found

        return weight


def _texts(column, index: pd.Index) -> pd.Series:
    """Each value as its code text (:func:`web.research.weighting.coded`), missing as ""."""
    if column is None:
        return pd.Series("", index=index, dtype=object)
    return coded(pd.Series(column, index=index), missing="")


def cell_keys(frame: pd.DataFrame, base: str) -> pd.DataFrame:
    """The weighting cell key (:data:`KEY`) of each row of ``frame``, its base weight read from column ``base``
    (``weight`` in a chunk of :func:`web.tables.iter_frames`, ``base_weight`` in a weighted design's frame);
    missing values as "" (and -1 for the ward), so that a key written from either matches the other's."""
    index = frame.index
    ward = frame.get("ward_code")
    wards = pd.to_numeric(pd.Series(ward, index=index), errors="coerce") if ward is not None \
        else pd.Series(np.nan, index=index)
    return pd.DataFrame({"stream": _texts(frame.get("stream"), index), "ward_code": wards.fillna(-1).astype("int64"),
                         "sex": _texts(frame.get("sex"), index), "age_band": _texts(frame.get("age_band"), index),
                         "base_weight": pd.to_numeric(pd.Series(frame[base], index=index),
                                                      errors="coerce").astype("float64")})


def of_design(data: Weighted) -> Cells:
    """The cells of a weighted design (kept with it in the app's cache)."""
    return data.derived(("weight_cells",), lambda: _cells(data))


def _cells(data: Weighted) -> Cells:
    frame = data.frame
    newest = data.stamp.newest if data.stamp is not None else 0
    if frame.empty:
        return Cells(pd.DataFrame(columns=[*KEY, "weight"]), {}, newest)
    keys = cell_keys(frame, "base_weight")
    keys["weight"] = frame["weight"].to_numpy(dtype="float64")
    alone = frame["nonresponse_factor"].to_numpy() != 1 if "nonresponse_factor" in frame \
        else np.zeros(len(frame), dtype=bool)
    kinds = keys[~alone].groupby(KEY, sort=False, dropna=False)["weight"].transform("nunique")
    alone[np.flatnonzero(~alone)[kinds.to_numpy() > 1]] = True
    table = keys[~alone].drop_duplicates(KEY).reset_index(drop=True)
    ids = frame["response_id"].to_numpy(dtype="int64")
    single = dict(zip(ids[alone].tolist(), keys["weight"].to_numpy()[alone].tolist(), strict=True))
    return Cells(table, single, newest)


def save(session: Session, slug: str, provinces: areas.Provinces, data: Weighted) -> None:
    """Keep the design's cells for every worker (called whenever a worker makes a design)."""
    _saved(session, slug, provinces, of_design(data), data.stamp or Stamp(0, 0, ()), data.as_of)


def _saved(session: Session, slug: str, provinces: areas.Provinces, made: Cells, stamp: Stamp,
           as_of: dt.datetime | None) -> None:
    single = pd.DataFrame({"response_id": list(made.single), "weight": list(made.single.values())},
                          columns=["response_id", "weight"]).astype({"response_id": "int64", "weight": "float64"})
    meta = {"stamp": [stamp.data_version, stamp.newest, list(stamp.margins)],
            "as_of": as_of.isoformat() if as_of else None}
    snapshots.save(session, _key(slug, provinces), meta, made.table, single)


ON_BUILT.append(save)


def _key(slug: str, provinces: areas.Provinces) -> str:
    return f"{snapshot_key(slug, provinces)}:cells"


def _stored(session: Session, slug: str, provinces: areas.Provinces, now: Stamp) -> Cells | None:
    """The saved cells when they are those of the current design or of one older only by new responses."""
    described = snapshots.meta(session, _key(slug, provinces))
    if described is None:
        return None
    theirs = Stamp(described["stamp"][0], described["stamp"][1], tuple(described["stamp"][2]))
    if theirs != now and not theirs.only_newer(now):
        return None
    stored = snapshots.load(session, _key(slug, provinces))
    if stored is None:
        return None
    _, table, single, _ = stored
    return Cells(table.astype({"ward_code": "int64", "base_weight": "float64", "weight": "float64"}),
                 dict(zip(single["response_id"].tolist(), single["weight"].tolist(), strict=True)), theirs.newest)


def served(session: Session, slug: str, provinces: areas.Provinces) -> Cells:
    """The cells of the weights the research pages serve now: saved ones when current (or older only by new
    responses); else, for a survey of more than ``KHAOSAT_CELLS_IN_DATABASE_THRESHOLD`` responses, made from the
    database's cross-table and saved (:func:`refresh`); else those of the served design (made in memory when no
    worker has made it yet)."""
    stored = _stored(session, slug, provinces, data_stamp_of(session, slug, provinces))
    if stored is not None:
        return stored
    if too_large(response_count(session, slug)):
        return refresh(session, slug, provinces)
    return of_design(current(session, slug, provinces)[0])


def refresh(session: Session, slug: str, provinces: areas.Provinces, as_of: dt.datetime | None = None,
            stamp: Stamp | None = None) -> Cells:
    """Make the cells from the database's cross-table and keep them for every worker (a large survey's weighting
    run: :mod:`web.research.weighting_jobs`); ``stamp``: the data as they were read at ``as_of`` (now by default).

    :raise MixedCodeLists: when responses or margins hold ward codes of another code list
    """
    as_of = as_of or dt.datetime.now(dt.UTC)
    stamp = stamp or data_stamp_of(session, slug, provinces)
    made = of_cross_table(session, slug, provinces, stamp)
    _saved(session, slug, provinces, made, stamp, as_of)
    return made


def of_cross_table(session: Session, slug: str, provinces: areas.Provinces, stamp: Stamp) -> Cells:
    """The cells of the responses up to ``stamp`` made without reading them: the survey's cross-table grouped by
    the database (:mod:`web.research.cross_table`) weighted by :func:`web.research.raking.weigh`, the code the
    design in memory is weighted by (:func:`web.research.weighting.calibrate`), so the cells are those of
    :func:`of_design` (to rounding). Memory holds the distinct cells, whatever the number of responses.

    :raise MixedCodeLists: when responses or margins hold ward codes of another code list
    """
    check_code_lists(session, slug, provinces)
    table = cross_table.read(session, slug, stamp.newest)
    weights, report = _weighed(table, *chosen_margins(session, provinces))
    cells = table.cells.assign(weight=weights)
    alone = cells["response_id"].to_numpy(dtype="int64") >= 0
    single = dict(zip(cells.loc[alone, "response_id"].astype("int64").tolist(),
                      cells.loc[alone, "weight"].astype("float64").tolist(), strict=True))
    kept = cells[~alone]
    found = pd.DataFrame({"stream": kept["stream"].astype(object), "ward_code": kept["ward_code"].astype("int64"),
                          "sex": kept["sex"].fillna("").astype(object), "age_band": kept["age_band"].fillna("")
                          .astype(object), "base_weight": kept["base_weight"].astype("float64"),
                          "weight": kept["weight"].astype("float64")}).reset_index(drop=True)
    return Cells(found, single, stamp.newest, report)


def _weighed(table: cross_table.CrossTable, margins: pd.DataFrame,
             by_province: pd.DataFrame) -> tuple[np.ndarray, dict]:
    """Each cell's final weight (the base weight when the weights are not raked, as the design then keeps it), and
    the report of how (:attr:`Cells.report`): the steps of :func:`web.research.weighting.calibrate`, each
    diagnosed over the cells' respondents (a cell's weight counted once per respondent)."""
    cells = table.cells
    base, counts = cells["base_weight"].to_numpy(dtype="float64"), cells["n"].to_numpy(dtype="float64")
    if cells.empty:
        return base, _report([], "base")
    steps = [{"step": "base", **weight_diagnostics(cells["stored_weight"].to_numpy(dtype="float64"), counts)}]
    if (cells["response_id"] >= 0).any():  # some interviews' weights are adjusted for their class's non-response
        steps.append({"step": "nonresponse", **weight_diagnostics(base, counts)})
    problem = raking.unweightable(table.units, margins, by_province, table.columns)
    if problem is not None:
        return base, _report(steps, "base", problem)
    made = raking.weigh(cells, margins, by_province)
    if made.problem is not None:
        return base, _report(steps, "base", made.problem, made.unrepresented)
    if made.level == "ward":
        steps.append({"step": "raked", **weight_diagnostics(made.raked, counts)})
    steps.append({"step": "trimmed" if made.level == "ward" else "raked", **weight_diagnostics(made.final, counts)})
    return made.final, _report(steps, "raked", None, made.unrepresented, made.level)


def _report(steps: list[dict], method: str, problem: Message | None = None, unrepresented: tuple[int, ...] = (),
            level: str = "ward") -> dict:
    return {"diagnostics": steps, "method": method, "level": level, "unrepresented": [int(w) for w in unrepresented],
            "problem": None if problem is None else {"code": problem.code,
                                                     "params": {k: v if isinstance(v, int | float | str) else str(v)
                                                                for k, v in problem.params.items()}}}

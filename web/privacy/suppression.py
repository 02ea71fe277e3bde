"""Cell suppression: the one rule for every table, chart and API answer shown outside the admin role.

A cell (row) with fewer than ``MIN_CELL_COUNT`` respondents (setting ``KHAOSAT_MIN_CELL_COUNT``) shows
which cell it is and nothing else: no estimate, no interval, not even its count (primary suppression).
So that no hidden count can be worked out from the margins and the other tables, more cells are
hidden with it (secondary suppression): every table of an indicator (whole city, former districts,
wards, crossed with up to two groups) is cut from one :class:`analysis.cell_suppression.TableFamily`,
which protects each table top-down and audits it by linear programming; :func:`hidden_cells` says
which rows of a table it hides. The protection interval is ``KHAOSAT_TABLE_PROTECTION`` (default 10%
of the cell, at least one respondent). The patterns a worker protects are saved for the others
(:mod:`web.shared_state`, keyed by a digest of the counts and parameters), which adopt them instead of
solving the same linear programs again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from flask import current_app
from sqlmodel import Session

from analysis.cell_suppression import TableFamily, code_text
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from web import db
from web.shared_state import load_json, save_json

AREA_LEVELS = ("province_code", "former_district", "ward_code")  #: the area hierarchy, coarsest first
AREA_ATTRIBUTES = ("area_type",)  #: groups that follow from the ward (phường or xã): linked to the ward tables
_lock = threading.Lock()  # a family fills its tables in as they are asked for

SUPPRESSED = "suppressed"  #: the ``reliability`` of a suppressed cell


def min_cell_count() -> int:
    """The smallest number of respondents a cell needs to be shown (``MIN_CELL_COUNT``)."""
    return int(current_app.config["MIN_CELL_COUNT"])


def table_family(records: pd.DataFrame, groups: Sequence[str], min_count: int | None = None,
                 counts: np.ndarray | None = None) -> TableFamily:
    """The linked tables over ``records`` (the respondents counted for one indicator; ``counts``: how many each
    record stands for, when they are grouped), with the tables another worker protected over the same counts
    (:func:`_adopt_shared`)."""
    levels = [c for c in AREA_LEVELS if c in records.columns and records[c].notna().any()]
    family = TableFamily(records, levels, [g for g in groups if g in records.columns],
                         min_count=min_cell_count() if min_count is None else min_count,
                         protection=float(current_app.config.get("TABLE_PROTECTION", 0.1)),
                         area_attributes=AREA_ATTRIBUTES if "ward_code" in levels else (), counts=counts)
    if family.protected == 0:
        _adopt_shared(family)
    return family


def _shared_key(family: TableFamily) -> str:
    return f"suppression:{family.key}"


def _adopt_shared(family: TableFamily) -> None:
    """Take the patterns another worker saved for these counts (:mod:`web.shared_state`): a worker that has
    just started, or another gunicorn worker after new weights, does not solve the same linear programs again
    (a national left-behind page: about 10 s of CPU). Nothing saved, or unreadable: protected here."""
    try:
        with Session(db.engine()) as session:  # apart from the request's own transaction
            saved = load_json(session, _shared_key(family))
        if saved is not None:
            family.adopt(saved)
    except Exception:  # noqa: BLE001 - the patterns are made again here, as if none were saved
        current_app.logger.exception("the saved suppression patterns could not be read")


def _share(family: TableFamily) -> None:
    """Save the family's patterns for the other workers, after it protected tables they may not have."""
    try:
        with Session(db.engine()) as session:
            save_json(session, _shared_key(family), family.patterns())
    except Exception:  # noqa: BLE001 - the others protect their own tables, as before
        current_app.logger.exception("the suppression patterns could not be saved")


def hidden_cells(family: TableFamily, table: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """For each row of ``table``, whether the family's protection hides it (primary or secondary).

    A row's table is made of the ``columns`` it has a value in (an area level, then groups), so the
    rows of a ranking, which mixes tables, are looked up each in its own. A row the family does not
    know, and every row of a table no pattern can protect, is hidden."""
    protected = family.protected
    out = _hidden_rows(family, table, [c for c in columns if c in table.columns])
    if family.protected > protected and family.key is not None:
        _share(family)
    return out


def _hidden_rows(family: TableFamily, table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    present = table[columns].notna().to_numpy() if columns else np.zeros((len(table), 0), dtype=bool)
    out = np.ones(len(table), dtype=bool)
    for pattern in {tuple(row) for row in present}:
        rows = np.flatnonzero((present == np.array(pattern, dtype=bool)).all(axis=1)) if columns \
            else np.arange(len(table))
        used = [c for c, has in zip(columns, pattern, strict=True) if has]
        level = used[0] if used and used[0] in AREA_LEVELS else None
        with _lock:
            protected = family.table(level, used[1:] if level else used)
        if protected.withheld:
            continue
        status = {tuple(r[:-1]): bool(r[-1]) for r in protected.cells[[*used, "suppressed"]].itertuples(index=False)}
        keys = zip(*(table[c].iloc[rows].map(code_text) for c in used), strict=True) if used else [()] * len(rows)
        out[rows] = [status.get(tuple(key), True) for key in keys]
    return out


def suppress(table: pd.DataFrame, count_column: str = "n", min_count: int | None = None,
             keep: Iterable[str] | None = None, *, hidden: np.ndarray | None = None) -> pd.DataFrame:
    """A copy of ``table`` where rows counting fewer than ``min_count`` show no figures.

    ``min_count`` defaults to the app's ``MIN_CELL_COUNT``. In such a row every column except ``keep``
    (by default: text, boolean and ``*_code`` columns, i.e. the labels and flags that say which cell
    it is) becomes missing, the count included; a ``reliability`` column says "suppressed", and the
    added boolean column ``suppressed`` is True. Rows with a missing or zero count are suppressed too,
    and so are the rows ``hidden`` marks (secondary suppression, from :func:`hidden_cells`).
    """
    if count_column not in table.columns:
        raise ValueError(f"the table has no column {count_column!r}; columns: {list(table.columns)}")
    if min_count is None:
        min_count = min_cell_count()
    if keep is None:
        keep = [c for c in table.columns if str(c).endswith("_code") or pd.api.types.is_bool_dtype(table[c])
                or not pd.api.types.is_numeric_dtype(table[c])]
    keep = set(keep) - {count_column}
    out = table.copy()
    counts = pd.to_numeric(out[count_column], errors="coerce")
    small = (counts.isna() | (counts < min_count) | (counts <= 0)).to_numpy()
    if hidden is not None:
        small = small | np.asarray(hidden, dtype=bool)
    if small.any():
        for column in out.columns:
            if column in keep:
                continue
            if pd.api.types.is_float_dtype(out[column]):
                out.loc[small, column] = np.nan
            else:
                out[column] = out[column].astype(object)
                out.loc[small, column] = None
        if "reliability" in out:
            out.loc[small, "reliability"] = SUPPRESSED
    out["suppressed"] = small
    return out

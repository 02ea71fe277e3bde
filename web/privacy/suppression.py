"""Small-cell suppression: the one rule for every table, chart and API answer shown outside the admin role.

A cell (row) with fewer than ``MIN_CELL_COUNT`` respondents (setting ``KHAOSAT_MIN_CELL_COUNT``) shows
which cell it is and nothing else: no estimate, no interval, not even its count.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from flask import current_app

SUPPRESSED = "suppressed"  #: the ``reliability`` of a suppressed cell


def min_cell_count() -> int:
    """The smallest number of respondents a cell needs to be shown (``MIN_CELL_COUNT``)."""
    return int(current_app.config["MIN_CELL_COUNT"])


def suppress(table: pd.DataFrame, count_column: str = "n", min_count: int | None = None,
             keep: Iterable[str] | None = None) -> pd.DataFrame:
    """A copy of ``table`` where rows counting fewer than ``min_count`` show no figures.

    ``min_count`` defaults to the app's ``MIN_CELL_COUNT``. In such a row every column except ``keep``
    (by default: text, boolean and ``*_code`` columns, i.e. the labels and flags that say which cell
    it is) becomes missing, the count included; a ``reliability`` column says "suppressed", and the
    added boolean column ``suppressed`` is True. Rows with a missing or zero count are suppressed too.
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

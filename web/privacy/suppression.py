"""Small-cell suppression for tables shown outside the admin role."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def suppress(table: pd.DataFrame, count_column: str = "n", min_count: int = 10,
             keep: Iterable[str] | None = None) -> pd.DataFrame:
    """A copy of ``table`` where rows counting fewer than ``min_count`` show no figures.

    In such a row every column except ``keep`` (by default: text columns and ``*_code`` columns,
    i.e. the labels that say which cell it is) becomes missing, the count included, and the
    added boolean column ``suppressed`` is True. Empty cells (count 0) are suppressed as well.
    """
    if count_column not in table.columns:
        raise ValueError(f"the table has no column {count_column!r}; columns: {list(table.columns)}")
    if keep is None:
        keep = [c for c in table.columns
                if str(c).endswith("_code") or not pd.api.types.is_numeric_dtype(table[c])]
    keep = set(keep) - {count_column}
    out = table.copy()
    counts = pd.to_numeric(out[count_column], errors="coerce")
    small = counts.isna() | (counts < min_count)
    for column in out.columns:
        if column not in keep:
            if small.any():
                out[column] = out[column].astype(object)
            out.loc[small, column] = None
    out["suppressed"] = small.to_numpy()
    return out

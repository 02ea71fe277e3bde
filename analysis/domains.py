"""Domains for ``by=``: one integer code per row, computed once and shared by every estimator.

Domain estimation keeps the full design: rows outside a domain get zero influence (never dropped),
so strata and PSU counts are those of the whole sample and standard errors agree with R's
``svyby`` (Lumley 2010, section 2.4; Lohr 2019, section 4.3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd

__all__ = ["Domains", "domains"]


@dataclass(frozen=True)
class Domains:
    """Domain code of each row (``-1``: missing ``by`` value, in no domain) and the domain keys.

    ``member`` and ``safe_codes()`` are computed once: every estimator asks for them, and on 1,000,000 rows
    each costs a pass over the rows."""

    codes: np.ndarray
    keys: pd.DataFrame

    @property
    def size(self) -> int:
        return len(self.keys)

    @cached_property
    def complete(self) -> bool:
        """Every row is in a domain (no missing ``by`` value)."""
        return not len(self.codes) or bool(self.codes.min() >= 0)

    @cached_property
    def member(self) -> np.ndarray:
        return self.codes >= 0

    @cached_property
    def _safe_codes(self) -> np.ndarray:
        return self.codes if self.complete else np.where(self.codes >= 0, self.codes, 0)

    def safe_codes(self) -> np.ndarray:
        return self._safe_codes

    def only_members(self, values: np.ndarray) -> np.ndarray:
        """``values`` with 0 in the rows that are in no domain."""
        return values if self.complete else np.where(self.member, values, 0.0)


def factorised(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 of an identifier (-1 where missing) and its k values, sorted; a categorical's codes
    are used as they are (in the order of its categories, unused ones dropped), never factorised again."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy(dtype=np.int64)
        categories = values.cat.categories.to_numpy()
        used = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
        if used.all():
            return codes, categories
        renumbered = np.cumsum(used) - 1  # pandas' remove_unused_categories sorts every code instead
        return np.where(codes >= 0, renumbered[codes], -1), categories[used]
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and len(values):  # whole numbers: a table, no hashing
        array = np.asarray(values, dtype=np.int64)
        low = int(array.min())
        codes, present = dense(array - low)
        return codes, present + low
    if isinstance(values, pd.Series) and isinstance(dtype, np.dtype) and dtype.kind == "O":
        values = values.to_numpy()  # pandas factorises a Series of Python objects ~20% slower than its array
    codes, uniques = pd.factorize(values if isinstance(values, pd.Series) else np.asarray(values), sort=True,
                                  use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques)


def dense(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of whole numbers ``key`` >= 0 numbered in sorted order, and the numbers present: by a table
    of the numbers present when they are not sparse (no hashing, no sort), else by factorising."""
    if len(key) and key.max() <= 8 * len(key) + 4096:
        marked = np.zeros(int(key.max()) + 1, dtype=bool)
        marked[key] = True
        return (np.cumsum(marked) - 1)[key], np.flatnonzero(marked)
    inverse, present = pd.factorize(key, sort=True)
    return inverse.astype(np.int64), np.asarray(present)


def domains(data: pd.DataFrame, by: str | Sequence[str] | None,
            known: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Domains:
    """Code the rows of ``data`` by the (sorted) combinations of the ``by`` columns present; ``known``:
    columns already factorised (codes, values), not hashed again."""
    names = [by] if isinstance(by, str) else list(by or [])
    n = len(data)
    if not names:
        return Domains(np.zeros(n, dtype=np.int64), pd.DataFrame(index=range(1)))
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise DesignError(f"by column(s) {missing} not in the data; columns are {list(data.columns)[:20]}")
    parts, uniques = [], []
    for name in names:
        c, u = known[name] if known and name in known else factorised(data[name])
        parts.append(c)
        uniques.append(u)
    if len(names) == 1:  # one column's codes are already 0..k-1 in sorted order, every value present
        return Domains(parts[0], pd.DataFrame({names[0]: np.asarray(uniques[0])}))
    valid = np.all(np.stack(parts) >= 0, axis=0)
    key = np.zeros(n, dtype=np.int64)
    for c, u in zip(parts, uniques, strict=True):
        key = key * max(len(u), 1) + np.where(c >= 0, c, 0)
    inverse, present = dense(key[valid])
    codes = np.full(n, -1, dtype=np.int64)
    codes[valid] = inverse
    cols = {}
    rem = present.copy()
    for name, u in reversed(list(zip(names, uniques, strict=True))):
        cols[name] = np.asarray(u)[rem % max(len(u), 1)]
        rem = rem // max(len(u), 1)
    keys = pd.DataFrame({name: cols[name] for name in names})
    return Domains(codes, keys)

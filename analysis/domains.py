"""Domains for ``by=``: one integer code per row, computed once and shared by every estimator.

Domain estimation keeps the full design: rows outside a domain get zero influence (never dropped),
so strata and PSU counts are those of the whole sample and standard errors agree with R's
``svyby`` (Lumley 2010, section 2.4; Lohr 2019, section 4.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import DesignError

__all__ = ["Domains", "domains"]


@dataclass(frozen=True)
class Domains:
    """Domain code of each row (``-1``: missing ``by`` value, in no domain) and the domain keys."""

    codes: np.ndarray
    keys: pd.DataFrame

    @property
    def size(self) -> int:
        return len(self.keys)

    @property
    def member(self) -> np.ndarray:
        return self.codes >= 0

    def safe_codes(self) -> np.ndarray:
        return np.where(self.codes >= 0, self.codes, 0)


def domains(data: pd.DataFrame, by: str | Sequence[str] | None) -> Domains:
    """Code the rows of ``data`` by the (sorted) combinations of the ``by`` columns present."""
    names = [by] if isinstance(by, str) else list(by or [])
    n = len(data)
    if not names:
        return Domains(np.zeros(n, dtype=np.int64), pd.DataFrame(index=range(1)))
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise DesignError(f"by column(s) {missing} not in the data; columns are {list(data.columns)[:20]}")
    parts, uniques = [], []
    for name in names:
        c, u = pd.factorize(data[name], sort=True, use_na_sentinel=True)
        parts.append(c.astype(np.int64))
        uniques.append(u)
    valid = np.all(np.stack(parts) >= 0, axis=0)
    key = np.zeros(n, dtype=np.int64)
    for c, u in zip(parts, uniques, strict=True):
        key = key * max(len(u), 1) + np.where(c >= 0, c, 0)
    inverse, present = pd.factorize(key[valid], sort=True)
    codes = np.full(n, -1, dtype=np.int64)
    codes[valid] = inverse
    cols = {}
    rem = present.copy()
    for name, u in reversed(list(zip(names, uniques, strict=True))):
        cols[name] = np.asarray(u)[rem % max(len(u), 1)]
        rem = rem // max(len(u), 1)
    keys = pd.DataFrame({name: cols[name] for name in names})
    return Domains(codes, keys)

"""A design's sampling structure: strata, clusters at each stage and finite-population corrections.

:func:`build_stages` turns the design columns of a table into the :class:`analysis.variance.Stage`
codes that the variance engine reads; :func:`degf` and :func:`degf_by` count the design's degrees
of freedom. Both designs use them: :class:`analysis.design.SurveyDesign` on its rows,
:class:`analysis.sql.SqlDesign` on the unit sums the database returns, so neither imports the other.

Conventions follow R's ``survey`` package (``svydesign(ids=, strata=, fpc=)``, ``as.fpc``, ``degf``):
stage-2 strata are nested in stage-1 units, ``fpc`` gives population counts or sampling fractions.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.domains import dense, factorised
from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.variance import Stage

__all__ = ["as_list", "build_stages", "column", "degf", "degf_by", "identifiers"]


def as_list(names: str | Sequence[str] | None) -> list[str]:
    """Normalise a column name, a list of names, or None, to a list."""
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    return list(names)


def column(data: pd.DataFrame, name: str, role: str) -> pd.Series:
    """The design column ``name`` (its ``role``: weights, strata, psu, fpc); every row must have a value."""
    if name not in data.columns:
        raise DesignError(f"{role} column {name!r} is not in the data; columns are {list(data.columns)[:20]}")
    col = data[name]
    if col.isna().any():
        raise DesignError(f"missing values in {role} column {name!r}; every row needs a {role}")
    return col


def _identifier(data: pd.DataFrame, name: str, role: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes and values of an identifier column, factorised once (missing values found by their code)."""
    if name not in data.columns:
        raise DesignError(f"{role} column {name!r} is not in the data; columns are {list(data.columns)[:20]}")
    codes, values = factorised(data[name])
    if len(codes) and codes.min() < 0:
        raise DesignError(f"missing values in {role} column {name!r}; every row needs a {role}")
    return codes, values


def identifiers(data: pd.DataFrame, strata: list[str], psu: list[str],
                fpc: list[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The codes and values of every strata and PSU column, by column name: factorised
    once per design, for its stages and its domains (:func:`analysis.domains.domains`)."""
    if fpc and len(fpc) != max(len(psu), 1):
        raise DesignError(f"fpc has {len(fpc)} stage(s) but psu has {max(len(psu), 1)}; give one per stage")
    coded = {c: _identifier(data, c, "psu") for c in psu}
    coded.update({c: _identifier(data, c, "strata") for c in strata})
    return coded


def _combine(*codes: np.ndarray) -> np.ndarray:
    """Dense codes of combinations of codes (a stratum and a PSU within it, ...), in sorted order: each
    combination as one number (arithmetic), numbered by :func:`analysis.domains.dense`."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        key = key * (int(c.max()) + 1 if len(c) else 1) + c
    return dense(key)[0]


def _fpc_popsize(fpc_rows: list[np.ndarray], sampsize_rows: list[np.ndarray]) -> list[np.ndarray]:
    """Population sizes per row and stage, from counts or fractions as R's ``as.fpc``."""
    allv = np.concatenate(fpc_rows)
    is_popsize = bool(np.any(allv > 1))
    if is_popsize != bool(np.all(allv >= 1)):
        raise DesignError(f"fpc must be all >= 1 (population counts) or all <= 1 (fractions); got {allv.min()}")
    out = [f if is_popsize else n / f for f, n in zip(fpc_rows, sampsize_rows, strict=True)]
    for pop, n in zip(out, sampsize_rows, strict=True):
        if np.any(pop < n - 1e-9 * n):
            raise DesignError("fpc implies more than 100% sampling in some strata (population < sample)")
    return out


def build_stages(data: pd.DataFrame, strata: list[str], psu: list[str], fpc: list[str],
                 nest: bool = False, coded: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> list[Stage]:
    """The stages of a design on ``data``: column names per stage (no ``psu``: each row is a unit).

    ``nest``: cluster ids repeat across strata (R's ``nest=TRUE``); ``coded``: the columns' codes
    from :func:`identifiers`, when the caller keeps them (else they are made here).
    """
    n = len(data)
    coded = identifiers(data, strata, psu, fpc) if coded is None else coded
    psu_codes = [coded[c] for c in psu] or [(np.arange(n), np.arange(n))]
    strata_codes = [coded[c] for c in strata]
    if not strata_codes:
        strata_codes = [(np.zeros(n, dtype=np.int64), np.array(["1"]))]
    units = []
    for s in range(len(psu_codes)):
        parts = [psu_codes[t][0] for t in range(s + 1)]
        if nest:
            parts = [strata_codes[0][0], *parts]
        units.append(_combine(*parts))
    if units[0].max() == 0 and not (nest and strata):
        raise DesignError("the design has only one primary sampling unit; variance cannot be estimated")
    stage_strata, labels = [], []
    for s in range(len(units)):
        st_code, st_labels = strata_codes[min(s, len(strata_codes) - 1)]
        if s == 0:
            stage_strata.append(st_code)
            labels.append(st_labels.astype(str))
        else:
            combined = _combine(st_code, units[s - 1])
            stage_strata.append(combined)
            labels.append(np.array([f"{i + 1} at stage {s + 1}" for i in range(combined.max() + 1)]))
    return _stages_from_codes(data, units, stage_strata, labels, fpc)


def _stages_from_codes(data: pd.DataFrame, units, stage_strata, labels, fpc) -> list[Stage]:
    unit_stratum, n_units, first_row = [], [], []
    for s, (u, h) in enumerate(zip(units, stage_strata, strict=True)):
        us = np.full(u.max() + 1, -1, dtype=np.int64)
        us[u] = h
        if np.any(us[u] != h):
            where = "at top level" if s == 0 else f"at stage {s + 1}"
            raise DesignError(f"clusters are not nested in strata {where}; pass nest=True if psu ids repeat")
        unit_stratum.append(us)
        n_units.append(np.bincount(us, minlength=h.max() + 1))
        first = np.empty(h.max() + 1, dtype=np.int64)
        first[h[::-1]] = np.arange(len(h) - 1, -1, -1)  # last write wins: each stratum's first row
        first_row.append(first)
    popsizes: list[np.ndarray | None] = [None] * len(units)
    if fpc:
        fpc_rows = [pd.to_numeric(column(data, c, "fpc")).to_numpy(dtype=float) for c in fpc]
        per_stratum = [f[first_row[s]] for s, f in enumerate(fpc_rows)]
        popsizes = _fpc_popsize(per_stratum, n_units)
    stages = []
    for s in range(len(units)):
        parent = units[s - 1][first_row[s]] if s > 0 else None
        stages.append(Stage(units[s], unit_stratum[s], n_units[s], popsizes[s], parent, labels[s]))
    return stages


def degf(stages: list[Stage], weights: np.ndarray, mask: np.ndarray | None = None) -> int:
    """Design degrees of freedom: PSUs minus strata among rows with non-zero weight (R's ``degf``)."""
    inset = weights != 0 if mask is None else (weights != 0) & mask
    first = stages[0]
    units = np.flatnonzero(np.bincount(first.unit[inset], minlength=first.n_unit_codes))
    return len(units) - len(np.unique(first.unit_stratum[units]))


def degf_by(stages: list[Stage], weights: np.ndarray, codes: np.ndarray, size: int, mask: np.ndarray) -> np.ndarray:
    """``degf`` of each domain ``0..size-1`` (rows with ``mask`` and non-zero weight)."""
    first = stages[0]
    inset = (weights != 0) & mask & (codes >= 0)
    unit = first.unit[inset]
    c = codes[inset]
    u, s = first.n_unit_codes, first.n_strata
    psus = dense(c * u + unit)[1] // u
    strata = dense(c * s + first.unit_stratum[unit])[1] // s
    return np.bincount(psus, minlength=size) - np.bincount(strata, minlength=size)

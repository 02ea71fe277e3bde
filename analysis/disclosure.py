"""Disclosure risk of microdata and its protection, as sdcMicro measures and applies them.

Quasi-identifiers (key variables) are the columns an intruder could know about a person from
elsewhere (area, sex, age band, ethnicity, education, ...). For each record:

* ``f`` is the number of sample records sharing its key and ``F`` the sum of their weights (the
  estimated number of people in the population with that key). A missing key value matches every
  category, as in sdcMicro's ``freqCalc`` with ``alpha = 1``: after local suppression this is what turns
  a suppressed value into protection.
* the individual risk is Benedetti and Franconi's estimate of the probability of a correct
  re-identification (sdcMicro ``indivRisk``, method ``"approx"``), with p = f/F:
  f = 1: p/(1-p)·log(1/p); f = 2: p/(1-p) - (p/(1-p))²·log(1/p); f >= 3: p/(f - (1-p)); F = f: 1/f.
* the expected number of re-identifications is the sum of the individual risks, and the global risk
  that sum over the number of records (sdcMicro ``measure_risk``).

Protection: :func:`local_suppression` sets key values to missing, record by record, riskiest first,
until every record shares its key with at least ``k`` records (k-anonymity) or until no record's
individual risk exceeds a threshold. It is a greedy version of sdcMicro's ``localSuppression``: for the
record at hand it suppresses the value whose removal adds the most matching records (weighted, for the
risk target), the least important variable first on a tie. Suppressing a value only ever adds matches
for other records, so one pass in risk order reaches the target for all; the loop checks it anyway.

Hand-written (numpy), because no Python library reproduces sdcMicro's counts with missing values as
wildcards, its risk measure and local suppression together (reviewed 2026-11 on PyPI: ``pycanon``
checks k-anonymity, ``anjana`` generalises, ``pymasq`` 0.6.5 dates from 2022, ``ssbkonf`` wraps R); the
counts are checked against sdcMicro's published examples in ``tests/analysis/test_disclosure.py``.

References
----------
Benedetti, R. and Franconi, L. (1998). Statistical and technological solutions for controlled data
dissemination. Pre-proceedings of New Techniques and Technologies for Statistics, 1, 225-232.
Templ, M., Kowarik, A. and Meindl, B. (2015). Statistical disclosure control for micro-data using the
R package sdcMicro. Journal of Statistical Software, 67(4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd

MISSING = -1  #: the code of a missing (or suppressed) key value


def _codes(keys: pd.DataFrame) -> np.ndarray:
    """The key columns as integer codes (one column per key), missing values as ``MISSING``."""
    if keys.shape[1] == 0:
        return np.zeros((len(keys), 0), dtype=np.int64)
    columns = []
    for _, column in keys.items():
        codes, _ = pd.factorize(column, use_na_sentinel=True)  # one type per column: 2.0 and "2" never meet
        columns.append(codes)
    return np.column_stack(columns).astype(np.int64)


def _matches(codes: np.ndarray, i: int) -> np.ndarray:
    """For every record and key: does it match record ``i`` there (equal, or either one missing)?"""
    row = codes[i]
    return (codes == row) | (codes == MISSING) | (row == MISSING)


def _blocks(codes: np.ndarray):
    """A function giving, for a key, the records that can match it on the key variable with the fewest
    missing values (records with that value or missing there), so a record is not compared with all."""
    b = int(np.argmin((codes == MISSING).sum(axis=0))) if codes.shape[1] else 0
    column = codes[:, b] if codes.shape[1] else np.zeros(len(codes), dtype=np.int64)
    order = np.argsort(column, kind="stable")
    values, starts = np.unique(column[order], return_index=True)
    ends = np.r_[starts[1:], len(order)]
    where = {int(v): np.sort(order[a:e]) for v, a, e in zip(values, starts, ends, strict=True)}
    missing = where.get(MISSING, np.array([], dtype=np.int64))
    everyone = np.arange(len(codes))

    def near(row: np.ndarray) -> np.ndarray:
        if not codes.shape[1] or row[b] == MISSING:
            return everyone
        same = where.get(int(row[b]), missing[:0])
        return np.union1d(same, missing) if len(missing) else same  # sorted either way; union1d sorts again

    return near


def frequencies(keys: pd.DataFrame, weights: Sequence[float] | None = None) -> pd.DataFrame:
    """sdcMicro's ``freqCalc``: per record ``f`` (records sharing its key) and ``F`` (their weights).

    A missing key value matches every value of that key. Without weights ``F`` equals ``f``.
    """
    codes = _codes(keys)
    w = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != len(keys):
        raise ValueError(f"{len(w)} weights for {len(keys)} records")
    n = len(codes)
    f = np.zeros(n)
    big_f = np.zeros(n)
    incomplete = (codes == MISSING).any(axis=1)
    complete = np.flatnonzero(~incomplete)
    if len(complete):
        groups = pd.DataFrame(codes[complete]).groupby(list(range(codes.shape[1])), sort=False) \
            if codes.shape[1] else None
        if groups is None:
            f[complete], big_f[complete] = len(complete), w[complete].sum()
        else:
            f[complete] = groups[0].transform("size").to_numpy()
            big_f[complete] = pd.Series(w[complete]).groupby(groups.ngroup().to_numpy()).transform("sum").to_numpy()
    if incomplete.any():  # records with a missing value, each distinct key once
        rows = np.flatnonzero(incomplete)
        distinct, which = np.unique(codes[rows], axis=0, return_inverse=True)
        which = which.reshape(-1)
        counts = np.bincount(which, minlength=len(distinct))
        weights = np.bincount(which, weights=w[rows], minlength=len(distinct))
        blocks = _blocks(codes)
        for u, row in enumerate(distinct):
            near = blocks(row)  # the only records that can match: same value, or missing, in one key
            sub = codes[near]
            match = near[((sub == row) | (sub == MISSING) | (row == MISSING)).all(axis=1)]
            members = rows[which == u]
            f[members], big_f[members] = len(match), w[match].sum()
            others = match[~incomplete[match]]
            f[others] += counts[u]
            big_f[others] += weights[u]
    return pd.DataFrame({"f": f.astype(np.int64), "F": big_f}, index=keys.index)


def individual_risk(f: Sequence[float], big_f: Sequence[float]) -> np.ndarray:
    """Benedetti–Franconi individual risk (sdcMicro ``indivRisk``, ``method="approx"``)."""
    f = np.asarray(f, dtype=float)
    big_f = np.maximum(np.asarray(big_f, dtype=float), f)
    p = f / big_f
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = p / (1 - p)
        log = np.log(1 / p)
        risk = np.where(f == 1, odds * log, np.where(f == 2, odds - odds ** 2 * log, p / (f - (1 - p))))
    return np.where(big_f == f, 1 / f, risk)


@dataclass(frozen=True)
class Risk:
    """The disclosure risk of a file (one snapshot: before or after protection)."""

    records: int
    sample_uniques: int  #: records whose key no other record shares (f = 1)
    below_k: dict[int, int]  #: k -> records whose key fewer than k records share (k = 2, 3, 5)
    expected_reidentifications: float  #: the sum of the individual risks
    global_risk: float  #: expected re-identifications / records
    max_risk: float
    above_threshold: int  #: records whose individual risk exceeds the threshold it was measured against
    threshold: float
    per_record: pd.DataFrame = field(repr=False)  #: f, F and risk per record

    def as_dict(self) -> dict:
        return {"records": self.records, "sample_uniques": self.sample_uniques,
                "below_k": dict(self.below_k), "expected_reidentifications": self.expected_reidentifications,
                "global_risk": self.global_risk, "max_risk": self.max_risk,
                "above_threshold": self.above_threshold, "threshold": self.threshold}


def measure_risk(keys: pd.DataFrame, weights: Sequence[float] | None = None, threshold: float = 1.0) -> Risk:
    """Sample uniques, k-anonymity violations, individual and global risk (sdcMicro ``measure_risk``)."""
    counts = frequencies(keys, weights)
    risk = individual_risk(counts["f"], counts["F"]) if len(keys) else np.zeros(0)
    per_record = counts.assign(risk=risk)
    total = float(risk.sum())
    return Risk(records=len(keys), sample_uniques=int((counts["f"] == 1).sum()),
                below_k={k: int((counts["f"] < k).sum()) for k in (2, 3, 5)},
                expected_reidentifications=total, global_risk=total / len(keys) if len(keys) else 0.0,
                max_risk=float(risk.max()) if len(keys) else 0.0,
                above_threshold=int((risk > threshold).sum()), threshold=threshold, per_record=per_record)


def _default_order(codes: np.ndarray) -> list[int]:
    """Keys in the order they are suppressed on a tie: most categories first (sdcMicro's default)."""
    sizes = [len(set(codes[:, v]) - {MISSING}) for v in range(codes.shape[1])]
    return sorted(range(codes.shape[1]), key=lambda v: -sizes[v])


def _suppress_record(codes: np.ndarray, i: int, w: np.ndarray, allowed: list[int], done,
                     strict: bool) -> list[int]:
    """Suppress key values of record ``i`` until ``done(f, F)`` holds; the keys suppressed. ``allowed``
    is the order keys are given up in; ``strict``: the first that adds any match, else the best."""
    match = _matches(codes, i)
    suppressed = []
    while True:
        mismatches = (~match).sum(axis=1)
        whole = mismatches == 0
        if done(int(whole.sum()), float(w[whole].sum())):
            return suppressed
        open_keys = [v for v in allowed if codes[i, v] != MISSING]
        if not open_keys:
            return suppressed
        one_off = mismatches == 1
        gains = [float(w[one_off & ~match[:, v]].sum()) for v in open_keys]
        useful = [v for v, gain in zip(open_keys, gains, strict=True) if gain > 0]
        if strict and useful:
            v = useful[0]
        else:
            v = open_keys[int(np.argmax(gains))]  # the first of the best: the least important on a tie
        codes[i, v] = MISSING
        match[:, v] = True
        suppressed.append(v)


def _grouped(codes: np.ndarray, kept: list[int]) -> np.ndarray:
    """An order of the records that puts those of each combination of the kept keys together, each combination's in
    their own order, and those missing a kept key (rare) last."""
    if not kept:
        return np.arange(len(codes))
    sub = codes[:, kept]
    incomplete = (sub == MISSING).any(axis=1)
    whole = np.flatnonzero(~incomplete)
    _, which = np.unique(sub[whole], axis=0, return_inverse=True)
    return np.r_[whole[np.argsort(which.reshape(-1), kind="stable")], np.flatnonzero(incomplete)]


def _candidates(codes: np.ndarray, kept: list[int]):
    """A function giving, for record ``i`` of ``codes`` in :func:`_grouped` order, the records that can ever match it:
    those agreeing on the keys never suppressed (or missing there), in order. Comparing only these makes suppression
    in a file kept at ward level ~30x faster. They are a slice when no kept key is missing anywhere: the record at
    risk is then compared with a view of them, not a copy, and they are never looked for among all the records (at
    1,000,000 records, that search and the copy were most of the time)."""
    everyone = np.arange(len(codes))
    if not kept:
        return lambda i: slice(0, len(codes))
    sub = codes[:, kept]
    incomplete = (sub == MISSING).any(axis=1)
    complete = int((~incomplete).sum())  # the records missing a kept key come last
    starts = np.r_[0, np.flatnonzero((sub[1:complete] != sub[:complete - 1]).any(axis=1)) + 1] if complete else \
        np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], complete]
    group = np.repeat(np.arange(len(starts)), ends - starts)
    partial = np.flatnonzero(incomplete)

    def matching(rows: np.ndarray, row: np.ndarray) -> np.ndarray:
        block = sub[rows]
        return rows[((block == row) | (block == MISSING) | (row == MISSING)).all(axis=1)]

    def candidates(i: int) -> slice | np.ndarray:
        if incomplete[i]:
            return matching(everyone, sub[i])
        same = slice(int(starts[group[i]]), int(ends[group[i]]))
        return same if not len(partial) else np.union1d(everyone[same], matching(partial, sub[i]))

    return candidates


@dataclass(frozen=True)
class Suppression:
    """What :func:`local_suppression` did: the protected keys and the count of values suppressed per key."""

    keys: pd.DataFrame
    suppressed: dict[str, int]  #: key -> values set to missing
    cells: pd.DataFrame  #: one row per suppressed value: ``row`` (index label) and ``key``


def _suppression_order(names: list[str], codes: np.ndarray, importance: Sequence[str] | None) -> list[int]:
    """Key positions in the order they are given up: ``importance`` reversed (then the others), or
    the default order."""
    if importance is None:
        return _default_order(codes)
    unknown = set(importance) - set(names)
    if unknown:
        raise ValueError(f"importance names keys that are not there: {sorted(unknown)}; keys: {names}")
    ranked = [names.index(n) for n in importance]
    return list(reversed(ranked)) + [v for v in _default_order(codes) if v not in ranked]


def _target(k: int | None, threshold: float | None) -> Callable[[int, float], bool]:
    """Whether a record whose key ``f`` records of weight ``F`` share is safe: k-anonymity, or a risk threshold."""
    if k is not None:
        return lambda f, big_f: f >= k
    return lambda f, big_f: float(individual_risk([f], [big_f])[0]) <= threshold


def local_suppression(keys: pd.DataFrame, k: int | None = None, *, weights: Sequence[float] | None = None,
                      threshold: float | None = None, importance: Sequence[str] | None = None,
                      keep: Sequence[str] = (), max_rounds: int = 20) -> Suppression:
    """Set key values to missing until every record's key is shared by ``k`` records, or (with
    ``weights`` and ``threshold``) until no individual risk exceeds ``threshold``.

    ``importance`` lists the keys from the one to keep most (suppressed last) to the one to give up
    first, and is followed strictly: a more important key is suppressed only when no less important
    one adds a match. By default the key whose suppression adds the most matches goes first, keys with
    more categories first on a tie. Keys in ``keep`` count in the frequencies but are never suppressed
    (e.g. the ward of a file whose ward tables must reproduce). ``k = 1`` changes nothing.
    """
    unknown = set(keep) - set(keys.columns)
    if unknown:
        raise ValueError(f"keep names keys that are not there: {sorted(unknown)}; keys: {list(keys.columns)}")
    if (k is None) == (threshold is None):
        raise ValueError("give either k (k-anonymity) or threshold (individual risk), not both")
    names = list(keys.columns)
    kept = [names.index(n) for n in keep]
    codes = _codes(keys)
    at = _grouped(codes, kept)  # worked on in this order, each record at risk taken in its own order (``at``)
    codes, given = codes[at], keys.iloc[at]
    original = codes.copy()
    w = np.ones(len(keys)) if weights is None or k is not None else np.asarray(weights, dtype=float)[at]
    order = [v for v in _suppression_order(names, codes, importance) if names[v] not in keep]
    done, strict = _target(k, threshold), importance is not None
    candidates = _candidates(codes, kept)  # the kept keys never change
    for _ in range(max_rounds):
        counts = frequencies(_decoded(given, codes, original), None if k is not None else w)
        risk = individual_risk(counts["f"], counts["F"])
        bad = np.flatnonzero(counts["f"].to_numpy() < k if k is not None else risk > threshold)
        if not len(bad):
            break
        for i in bad[np.lexsort((at[bad], -risk[bad]))]:  # riskiest first, then in the records' order
            rows = candidates(int(i))
            if isinstance(rows, slice):  # a view: record i is suppressed in place
                _suppress_record(codes[rows], int(i) - rows.start, w[rows], order, done, strict)
                continue
            block, local = codes[rows], int(np.searchsorted(rows, i))
            _suppress_record(block, local, w[rows], order, done, strict)
            codes[i] = block[local]
    codes[at], original[at] = codes.copy(), original.copy()  # back in the records' order
    protected = _decoded(keys, codes, original)
    changed = (codes == MISSING) & (original != MISSING)
    rows, columns = np.nonzero(changed)
    cells = pd.DataFrame({"row": keys.index[rows], "key": [names[c] for c in columns]})
    return Suppression(protected, {n: int(changed[:, v].sum()) for v, n in enumerate(names)}, cells)


def _decoded(keys: pd.DataFrame, codes: np.ndarray, original: np.ndarray) -> pd.DataFrame:
    """``keys`` with the values suppressed in ``codes`` (missing there, present in ``original``) removed."""
    out = keys.copy()
    for v, name in enumerate(keys.columns):
        gone = (codes[:, v] == MISSING) & (original[:, v] != MISSING)
        if gone.any():
            out[name] = out[name].astype(object)
            out.loc[gone, name] = None
    return out

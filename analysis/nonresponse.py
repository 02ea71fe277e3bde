"""Non-response adjustment of base weights within weighting classes, with cases of unknown eligibility.

A drawn unit (household) is a respondent, an eligible non-respondent (a refusal, a non-contact, ...),
of unknown eligibility (never reached: nobody knows whether anyone eligible lives there), or not eligible
(vacant, not a dwelling). Within a weighting class ``c`` the respondents' weights are raised by

    f_c = (W_resp + W_nonresp + e W_unknown) / W_resp

where ``W`` are sums of base weights and ``e`` is the estimated share of the unknown-eligibility cases
that are eligible (AAPOR's *e*; :func:`eligibility_rate` gives its proportional-allocation estimate).
So a share ``e`` of the unknowns' weight is carried to the respondents of their class, the rest
(``1 - e``), like the ineligibles, drops out: the adjusted weights of a class sum to its estimated
eligible weight (Valliant, Dever and Kreuter 2018, section 13.5, steps 2-3; Kott 1994).

Classes are collapsed when too small. ``levels`` lists class keys from the finest (e.g. ward x group
size) to the coarsest (everyone); going level by level, the units not yet placed are grouped by that
level's key, and a group is kept as a class when it has at least ``min_respondents`` respondents and
a factor of at most ``max_factor`` (or nothing to carry); the units of the other groups go on to the
next level, where they are pooled with the other left-over units of the same coarser key. At the last
level every remaining group is a class (a class with weight to carry and no respondent is an error).
Each unit is in exactly one class, so the adjusted weights add up to the eligible weight of the sample.

Hand-written (no library offers an adjustment with unknown eligibility and this collapse rule; R's
``survey`` has none): checked against an independent R implementation in
``tests/fixtures/r_reference/nonresponse/`` to 1e-10.

References
----------
Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and Weighting Survey
Samples*, 2nd ed., Springer, ch. 13.
Kott, P. S. (1994). A note on handling nonresponse in sample surveys. *JASA* 89, 693-696.
AAPOR (2023). *Standard Definitions*, 10th ed. (the estimate of *e*).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from analysis.errors import DesignError
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd

__all__ = ["STATUSES", "eligibility_rate", "eligibility_adjust", "Adjustment"]

STATUSES = ("respondent", "nonrespondent", "unknown", "ineligible")
MIN_RESPONDENTS = 20  #: a class keeps at least this many respondents, or it is collapsed
MAX_FACTOR = 2.0  #: a class's factor is at most this, or it is collapsed


@dataclass(frozen=True)
class Adjustment:
    """Adjusted weights (0 for every unit that is not a respondent) and one row per class."""

    weights: np.ndarray
    classes: pd.DataFrame  #: level, key, respondent, nonrespondent, unknown, ineligible (counts), w_*, factor
    e: float
    min_respondents: int
    max_factor: float
    class_of: np.ndarray  #: each unit's class (a row position of ``classes``)


def eligibility_rate(counts: Mapping[str, float]) -> float:
    """AAPOR's proportional allocation: the eligible share among cases whose eligibility is known,
    ``(respondent + nonrespondent) / (respondent + nonrespondent + ineligible)`` (1 when none is known)."""
    eligible = float(counts.get("respondent", 0)) + float(counts.get("nonrespondent", 0))
    known = eligible + float(counts.get("ineligible", 0))
    return eligible / known if known else 1.0


def _sums(frame: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """Counts and weight sums of each status by ``key``."""
    parts = {}
    for status in STATUSES:
        here = frame["status"] == status
        parts[status] = here.groupby(key).sum()
        parts[f"w_{status}"] = frame["w"].where(here, 0.0).groupby(key).sum()
    return pd.DataFrame(parts)


def _factors(sums: pd.DataFrame, e: float) -> pd.Series:
    carried = sums["w_respondent"] + sums["w_nonrespondent"] + e * sums["w_unknown"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(carried - sums["w_respondent"] <= 0, 1.0, carried / sums["w_respondent"]),
                         index=sums.index)


def eligibility_adjust(weights: Sequence[float], status: Sequence[str], levels: Sequence[Sequence], e: float,
                       min_respondents: int = MIN_RESPONDENTS, max_factor: float = MAX_FACTOR) -> Adjustment:
    """Respondents' weights raised within collapsed classes (module docstring); ``levels`` from finest to
    coarsest, each a sequence of keys, one per unit.

    :raise DesignError: an unknown status, ``e`` outside [0, 1], or a last-level class with weight to
        carry and no respondent
    """
    frame = pd.DataFrame({"w": np.asarray(weights, dtype=float), "status": list(status)})
    unknown = sorted(set(frame["status"]) - set(STATUSES))
    if unknown or not 0 <= e <= 1 or not levels:
        raise DesignError(f"statuses {unknown} (allowed {STATUSES}), e={e}, {len(levels)} levels")
    class_of = np.full(len(frame), -1)
    rows = []
    for depth, level in enumerate(levels):
        left = class_of < 0
        if not left.any():
            break
        key = pd.Series([str(k) for k in level], index=frame.index)[left]
        sums = _sums(frame[left], key)
        factor = _factors(sums, e)
        last = depth == len(levels) - 1
        keep = last | ((sums["respondent"] >= min_respondents) & (factor <= max_factor)) | (factor == 1.0)
        if last and ((sums["w_respondent"] == 0) & (factor != 1.0)).any():
            raise DesignError(f"classes without respondents: {list(sums.index[(sums['w_respondent'] == 0)])}")
        for name in sums.index[keep.to_numpy()]:
            class_of[np.flatnonzero(left)[(key == name).to_numpy()]] = len(rows)
            rows.append({"level": depth, "key": name, **sums.loc[name].to_dict(), "factor": float(factor[name])})
    classes = pd.DataFrame(rows).astype({status: int for status in STATUSES})
    factor = classes["factor"].to_numpy()[class_of]
    adjusted = np.where(frame["status"] == "respondent", frame["w"].to_numpy() * factor, 0.0)
    return Adjustment(adjusted, classes, float(e), int(min_respondents), float(max_factor), class_of)

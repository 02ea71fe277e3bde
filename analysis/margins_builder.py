"""Census margins for the new wards, built from a table of the former units and the conversion table.

The 2019 census counts people by former commune (xã/phường/thị trấn before 1 July 2025) x sex x age band;
the wards in force since then were formed from whole former units or from parts of them. Each former
unit's counts go to its new wards:

* a unit wholly in one new ward goes to it;
* a unit split between new wards is shared by the ``share`` column of the conversion table (the part of
  the unit's population that went to each new ward; the shares of a unit must add up to 1);
* a split unit without shares is shared **equally** between its new wards (no population split is known),
  and the report lists every unit treated so, so the admin can supply shares instead.

Counts are split cell by cell (sex x age band) and rounded by largest remainders, so every former unit's
cell total is kept exactly. Problems are returned as codes with values (the web layer words them).

References
----------
GSO (2025). Conversion table of administrative units (BangChuyendoiĐVHCmoi_cu), effective 1 July 2025.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd

__all__ = ["build_margins", "BuiltMargins", "EQUAL", "GIVEN", "WHOLE"]

WHOLE, GIVEN, EQUAL = "whole", "given_shares", "equal_shares"  #: how a former unit was allocated


@dataclass
class BuiltMargins:
    table: pd.DataFrame  #: ward_code, sex, age_band, count
    units: pd.DataFrame  #: old_code, new wards, rule (WHOLE, GIVEN or EQUAL), people
    problems: list[tuple[str, dict]] = field(default_factory=list)  #: (code, values); table empty when any


def build_margins(old: pd.DataFrame, conversion: pd.DataFrame) -> BuiltMargins:
    """New-ward margins from ``old`` (old_code, sex, age_band, count) and ``conversion`` (old_code,
    ward_code[, share])."""
    problems: list[tuple[str, dict]] = []
    conv = conversion.copy()
    if "share" not in conv:
        conv["share"] = np.nan
    conv["share"] = pd.to_numeric(conv["share"], errors="coerce")
    missing = sorted(set(old["old_code"]) - set(conv["old_code"]))
    if missing:
        problems.append(("old_unit_not_in_conversion", {"units": missing[:20], "count": len(missing)}))
    rules, plans = [], {}
    for code, part in conv.groupby("old_code", sort=True):
        wards = [int(w) for w in part["ward_code"]]
        if len(wards) == 1:
            shares, rule = np.array([1.0]), WHOLE
        elif part["share"].notna().all():
            shares, rule = part["share"].to_numpy(float), GIVEN
            if (shares < 0).any() or abs(shares.sum() - 1) > 1e-6:
                problems.append(("shares_do_not_add_up", {"unit": code, "total": float(shares.sum())}))
        elif part["share"].isna().all():
            shares, rule = np.full(len(wards), 1 / len(wards)), EQUAL
        else:
            problems.append(("shares_partly_given", {"unit": code}))
            continue
        plans[code] = (wards, shares)
        rules.append({"old_code": code, "wards": wards, "rule": rule,
                      "people": int(old.loc[old["old_code"] == code, "count"].sum())})
    if problems:
        return BuiltMargins(pd.DataFrame(columns=["ward_code", "sex", "age_band", "count"]), pd.DataFrame(rules),
                            problems)
    pieces = []
    for row in old.itertuples(index=False):
        wards, shares = plans[row.old_code]
        pieces += [(w, row.sex, row.age_band, c) for w, c in zip(wards, _split(int(row.count), shares), strict=True)]
    table = pd.DataFrame(pieces, columns=["ward_code", "sex", "age_band", "count"])
    table = table.groupby(["ward_code", "sex", "age_band"], as_index=False)["count"].sum()
    return BuiltMargins(table, pd.DataFrame(rules))


def _split(count: int, shares: np.ndarray) -> np.ndarray:
    """``count`` split by ``shares`` into whole numbers that add up to ``count`` (largest remainders)."""
    exact = count * shares
    whole = np.floor(exact).astype(int)
    left = count - whole.sum()
    whole[np.argsort(-(exact - whole), kind="stable")[:left]] += 1
    return whole

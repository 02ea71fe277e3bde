"""Means, totals, ratios, proportions and quantiles against R's survey package (relative 1e-8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rref import RTOL, build_design, reference

CASES = reference()["cases"]


def _case_id(case: dict) -> str:
    args = "-".join(f"{v}" for k, v in case["args"].items() if v is not None)
    lonely = case["options"].get("lonely_psu", "fail") if case["options"] else "fail"
    return f"{case['design']}-{case['method']}-{args}-{lonely}"


def _call(case: dict) -> pd.DataFrame:
    lonely = (case["options"] or {}).get("lonely_psu", "fail")
    des = build_design(case["design"], lonely_psu=lonely)
    args = {k: v for k, v in case["args"].items() if v is not None}
    return getattr(des, case["method"])(**args)


def _key_columns(case: dict, rows: pd.DataFrame) -> list[str]:
    by = case["args"].get("by") or []
    keys = [by] if isinstance(by, str) else list(by)
    if case["method"] == "proportion":
        keys.append(case["args"]["variable"])
    if case["method"] == "quantile":
        keys.append("q")
    return keys


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_r(case: dict) -> None:
    expected = pd.DataFrame(case["rows"])
    got = _call(case)
    keys = _key_columns(case, expected)
    for k in keys:
        expected[k] = expected[k].astype(str)
        got[k] = got[k].astype(str)
    if keys:
        merged = expected.merge(got, on=keys, suffixes=("_r", ""), how="left", validate="one_to_one")
    else:
        merged = got.join(expected.add_suffix("_r"))
    assert len(merged) == len(expected)
    # a calibrated-away variance (R gives ~1e-17) is rounding noise: compare it absolutely, and skip
    # the design effect and interval that R derives from that noise
    scale = np.abs(merged["estimate_r"]).max()
    informative = merged["se_r"] > 1e-10 * scale
    for col in ("estimate", "se", "deff", "ci_low", "ci_high"):
        if f"{col}_r" not in merged:
            continue
        rows = slice(None) if col in ("estimate", "se") else informative
        np.testing.assert_allclose(merged.loc[rows, col], merged.loc[rows, f"{col}_r"], rtol=RTOL,
                                   atol=1e-12 * scale, err_msg=col)

"""Helpers for the analysis tests: R reference values and the api data sets they were computed on.

``tests/fixtures/r_reference/make_reference.R`` writes both; the tests never run R.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd

from analysis import SurveyDesign

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "r_reference"
RTOL = 1e-8


@cache
def reference() -> dict:
    return json.loads((REFERENCE_DIR / "reference.json").read_text())


@cache
def dataset(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / "data" / f"{name}.csv")


def build_design(name: str, lonely_psu: str = "fail") -> SurveyDesign:
    """The design called ``name`` in the reference file, built with our API."""
    ref = reference()
    if name in ref["weighted"]:
        op = ref["weighted"][name]
        base = build_design(op["base"], lonely_psu)
        if op["op"] == "poststratify":
            return base.poststratify(op["variables"], op["population"])
        if op["op"] == "rake":
            return base.rake(op["margins"])
        bounds = tuple(op["bounds"]) if "bounds" in op else (float("-inf"), float("inf"))
        return base.calibrate(op["population"], bounds=bounds)
    spec = dict(ref["specs"][name])
    data = dataset(spec.pop("data"))
    return SurveyDesign(data, lonely_psu=lonely_psu, **spec)

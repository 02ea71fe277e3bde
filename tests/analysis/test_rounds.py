"""Change between rounds against R's survey (svyby with covmat = TRUE, then svycontrast), to 1e-8:
rounds revisiting the same PSUs (a covariance) and independent rounds (none)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign
from analysis.rounds import comparable_versions, round_change

HERE = Path(__file__).parent.parent / "fixtures" / "r_reference" / "rounds"
DATA = pd.read_csv(HERE / "rounds.csv", dtype={"stratum": str, "psu": str})
REFERENCE = json.loads((HERE / "reference.json").read_text())


@pytest.mark.parametrize("kind", ["panel", "independent"])
@pytest.mark.parametrize("variable", ["y", "score"])
def test_change_and_its_standard_error_agree_with_r(kind, variable):
    design = SurveyDesign(DATA[DATA["design"] == kind].reset_index(drop=True), weights="w", strata="stratum",
                          psu="psu")
    expected = REFERENCE[f"{kind}_{variable}"]
    overall = round_change(design, variable, "round", 1, 2)
    by_sex = round_change(design, variable, "round", 1, 2, by="sex").set_index("sex")
    got = {"all": overall.iloc[0], "sex1": by_sex.loc[1], "sex2": by_sex.loc[2]}
    for name, row in got.items():
        assert row["change"] == pytest.approx(expected[name]["change"], rel=1e-8, abs=1e-12)
        assert row["se"] == pytest.approx(float(np.ravel(expected[name]["se"])[0]), rel=1e-8)
    if kind == "independent":
        assert overall["covariance"].iloc[0] == pytest.approx(0, abs=1e-15)
    else:
        assert overall["covariance"].iloc[0] != 0


def test_versions_that_changed_a_question_are_flagged():
    first = {"uses_internet": {"type": "yesno", "codes": ["0", "1"]}, "q1": {"type": "single", "codes": ["1", "2"]}}
    second = {"uses_internet": {"type": "yesno", "codes": ["0", "1"]}, "q1": {"type": "single", "codes": ["1", "3"]},
              "q2": {"type": "integer"}}
    assert comparable_versions(first, second) == {"q1": "codes", "q2": "only_second"}
    assert comparable_versions(first, first) == {}

"""Non-response adjustment with unknown eligibility and collapsed classes, against an independent R
implementation (tests/fixtures/r_reference/nonresponse/nonresponse.R; R's survey has no such function)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import DesignError
from analysis.nonresponse import eligibility_adjust, eligibility_rate

HERE = Path(__file__).parent.parent / "fixtures" / "r_reference" / "nonresponse"


def _levels(units: pd.DataFrame) -> list[list[str]]:
    return [list(units["ward"] + ":" + units["size"]), list(units["ward"]), list(units["type"] + ":" + units["size"]),
            list(units["type"]), ["all"] * len(units)]


def test_adjusted_weights_and_classes_match_the_r_implementation():
    units = pd.read_csv(HERE / "units.csv")
    reference = json.loads((HERE / "reference.json").read_text())
    e = eligibility_rate(units["status"].value_counts().to_dict())
    assert e == pytest.approx(reference["e"], rel=1e-12)
    made = eligibility_adjust(units["w"], units["status"], _levels(units), e, min_respondents=20, max_factor=2.0)
    np.testing.assert_allclose(made.weights, reference["adjusted"], rtol=1e-10, atol=0)
    classes = made.classes.iloc[made.class_of]
    assert list(classes["level"]) == reference["level"] and list(classes["key"]) == reference["key"]
    np.testing.assert_allclose(classes["factor"], reference["factor"], rtol=1e-10)
    # the adjusted weights add up to the eligible weight: respondents, eligible non-respondents, e x unknown
    assert made.weights.sum() == pytest.approx(reference["eligible_total"], rel=1e-12)
    w = units["w"].to_numpy()
    for row, members in zip(made.classes.itertuples(), [made.class_of == i for i in range(len(made.classes))],
                            strict=True):
        status = units["status"][members]
        eligible = w[members][status.isin(["respondent", "nonrespondent"])].sum() + \
            e * w[members][status == "unknown"].sum()
        assert made.weights[members].sum() == pytest.approx(eligible, rel=1e-12), row.key
        assert row.factor <= 2.0 or row.level == 4
        assert row.respondent >= 20 or row.factor == 1.0 or row.level == 4


def test_unknowns_carry_only_e_of_their_weight_and_ineligibles_drop_out():
    status = ["respondent", "respondent", "nonrespondent", "unknown", "ineligible"]
    made = eligibility_adjust([10, 10, 10, 10, 10], status, [["a"] * 5], e=0.5, min_respondents=1, max_factor=3)
    assert list(made.weights) == [17.5, 17.5, 0, 0, 0]  # (20 + 10 + 0.5 x 10) / 20 = 1.75
    whole = eligibility_adjust([10, 10, 10, 10, 10], status, [["a"] * 5], e=1.0, min_respondents=1, max_factor=3)
    assert list(whole.weights) == [20, 20, 0, 0, 0]


def test_a_small_class_joins_the_next_level_and_a_class_without_respondents_is_refused():
    status = ["respondent"] * 3 + ["nonrespondent"] + ["respondent"] * 30 + ["nonrespondent"] * 5
    fine = ["x"] * 4 + ["y"] * 35
    made = eligibility_adjust(np.ones(39), status, [fine, ["all"] * 39], e=1.0, min_respondents=20, max_factor=2)
    assert list(made.classes["key"]) == ["y", "all"]  # x has 3 respondents: pooled with nobody else, at "all"
    assert made.weights[:3].tolist() == [4 / 3] * 3
    with pytest.raises(DesignError):
        eligibility_adjust([1, 1], ["nonrespondent", "ineligible"], [["a", "a"]], e=1.0)
    with pytest.raises(DesignError):
        eligibility_adjust([1], ["maybe"], [["a"]], e=1.0)

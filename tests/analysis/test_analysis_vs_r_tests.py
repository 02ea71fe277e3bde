"""Rao-Scott chi-square, design t-tests and domain contrasts against R's survey package."""

from __future__ import annotations

import numpy as np
import pytest
from rref import RTOL, build_design, reference

TESTS = reference()["tests"]


@pytest.mark.parametrize("case", TESTS, ids=[f"{t['design']}-{t['method']}-{t['args'].get('statistic', '')}" for t in TESTS])
def test_matches_r(case: dict) -> None:
    des = build_design(case["design"])
    expected = case["result"]
    if case["method"] == "chisq":
        got = des.chisq(**case["args"]).iloc[0]
    elif case["method"] == "ttest":
        got = des.ttest(**case["args"]).iloc[0]
    else:
        rest = des.domain_test("api00", "stype", against="rest").set_index("stype").loc["E"]
        overall = des.domain_test("api00", "stype", against="overall").set_index("stype").loc["E"]
        got = {"rest_estimate": rest["estimate"], "rest_se": rest["se"],
               "overall_estimate": overall["estimate"], "overall_se": overall["se"]}
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=RTOL, err_msg=key)

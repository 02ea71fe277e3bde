"""The type of an identifier (integer, text, categorical with unused or unsorted categories) changes no number."""

import numpy as np
import pandas as pd
import pytest

from analysis import DesignError, SurveyDesign


def _frames():
    rng = np.random.default_rng(7)
    n = 3000
    ward, psu = rng.integers(0, 12, n), rng.integers(0, 5, n)
    base = pd.DataFrame({"y": rng.normal(50, 10, n), "w": rng.uniform(0.5, 2, n)})
    text_ward = pd.Series([f"W{w:03d}" for w in ward])
    text_psu = pd.Series([f"W{w:03d}-P{p:02d}" for w, p in zip(ward, psu, strict=True)])
    categories = sorted(set(text_ward), reverse=True) + ["W999"]  # unsorted, and one nobody is in
    return {
        "integer": base.assign(ward=ward, psu=ward * 100 + psu),
        "negative integer": base.assign(ward=ward - 50, psu=(ward - 50) * 100 - psu),
        "text (str)": base.assign(ward=text_ward.astype("str"), psu=text_psu.astype("str")),
        "text (object)": base.assign(ward=text_ward.astype(object), psu=text_psu.astype(object)),
        "categorical": base.assign(ward=pd.Categorical(text_ward, categories=categories),
                                   psu=text_psu.astype("category")),
    }


def test_identifier_types_give_the_same_estimates():
    tables = {kind: SurveyDesign(f, weights="w", strata="ward", psu="psu").mean("y", by="ward").sort_values("ward")
              for kind, f in _frames().items()}
    reference = tables["integer"]
    for kind, table in tables.items():
        assert len(table) == 12, kind
        for column in ("estimate", "se", "ci_low", "ci_high", "n"):
            assert table[column].to_numpy() == pytest.approx(reference[column].to_numpy(), rel=1e-12), (kind, column)


@pytest.mark.parametrize("kind", ["text (str)", "text (object)", "categorical"])
def test_a_missing_identifier_is_named(kind):
    frame = _frames()[kind]
    frame["psu"] = frame["psu"].astype(object)
    frame.loc[5, "psu"] = None
    with pytest.raises(DesignError, match="missing values in psu column 'psu'"):
        SurveyDesign(frame, weights="w", strata="ward", psu="psu")

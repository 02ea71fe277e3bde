"""A protected table family made from records already grouped (each standing for a count of respondents, as a
database's roll-up gives them) is the family of the respondents one by one: the same counts, the same cells hidden."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.cell_suppression import TableFamily


def _respondents() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 3000
    ward = rng.choice([101, 102, 103, 201, 202, 203, 204], n, p=[.3, .2, .005, .2, .15, .12, .025])
    return pd.DataFrame({"province_code": ward // 100, "ward_code": ward,
                         "sex": rng.choice(["1", "2"], n), "age_band": rng.choice(["15-29", "30-44", "60+"], n)})


def test_a_family_of_grouped_records_hides_what_the_respondents_family_hides() -> None:
    people = _respondents()
    grouped = people.groupby(list(people.columns), as_index=False).size()
    levels, groups = ["province_code", "ward_code"], ["sex", "age_band"]
    one_by_one = TableFamily(people, levels, groups, min_count=10, shared=False)
    by_counts = TableFamily(grouped[list(people.columns)], levels, groups, min_count=10, shared=False,
                            counts=grouped["size"].to_numpy())
    assert by_counts.total == one_by_one.total == len(people)
    pd.testing.assert_series_equal(by_counts.cube.sort_index(), one_by_one.cube.sort_index())
    hidden = 0
    for level, by in (("ward_code", ["sex"]), ("province_code", ["sex", "age_band"]), ("ward_code", ["age_band"])):
        mine, theirs = by_counts.table(level, by).cells, one_by_one.table(level, by).cells
        keys = [level, *by]
        pd.testing.assert_frame_equal(mine.sort_values(keys).reset_index(drop=True),
                                      theirs.sort_values(keys).reset_index(drop=True))
        hidden += int(theirs["suppressed"].sum())
    assert hidden > 0  # the small ward's cells, and those that would give them away

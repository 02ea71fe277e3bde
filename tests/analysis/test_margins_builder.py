"""The new-ward margin builder: whole units, given shares, equal shares stated, totals kept."""

from __future__ import annotations

import pandas as pd

from analysis.margins_builder import EQUAL, GIVEN, WHOLE, build_margins

OLD = pd.DataFrame({"old_code": [101, 101, 102, 103, 103], "sex": ["1", "2", "1", "1", "2"],
                    "age_band": ["16-29", "16-29", "60+", "30-44", "30-44"], "count": [1000, 1001, 7, 300, 301]})
CONVERSION = pd.DataFrame({"old_code": [101, 102, 102, 103, 103], "ward_code": [4, 4, 8, 8, 25],
                           "share": [None, 0.7, 0.3, None, None]})


def test_units_are_allocated_by_the_stated_rule_and_totals_are_kept():
    built = build_margins(OLD, CONVERSION)
    assert not built.problems
    rules = built.units.set_index("old_code")["rule"].to_dict()
    assert rules == {101: WHOLE, 102: GIVEN, 103: EQUAL}
    table = built.table.set_index(["ward_code", "sex", "age_band"])["count"]
    assert table[(4, "1", "16-29")] == 1000
    assert (table[(4, "1", "60+")], table[(8, "1", "60+")]) == (5, 2)  # 7 x 0.7 = 4.9 -> 5, 2.1 -> 2
    assert (table[(8, "2", "30-44")], table[(25, "2", "30-44")]) == (151, 150) or \
        (table[(8, "2", "30-44")], table[(25, "2", "30-44")]) == (150, 151)
    assert built.table["count"].sum() == OLD["count"].sum()


def test_problems_are_codes_and_nothing_is_built():
    bad = CONVERSION.assign(share=[None, 0.7, 0.2, 0.5, None])
    built = build_margins(pd.concat([OLD, pd.DataFrame({"old_code": [999], "sex": ["1"], "age_band": ["60+"],
                                                        "count": [5]})]), bad)
    codes = {code for code, _ in built.problems}
    assert codes == {"old_unit_not_in_conversion", "shares_do_not_add_up", "shares_partly_given"}
    assert built.table.empty

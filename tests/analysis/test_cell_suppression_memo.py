"""The process-wide memo of protected tables: a family over the same counts and parameters shows the same
patterns without solving again (whatever the records' order, index or other columns); different counts
or parameters never share; and without the memo the pattern does not depend on the order tables are
asked in, so sharing tables between families changes nothing they show."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import cell_suppression
from analysis.cell_suppression import TableFamily

LEVELS, GROUPS = ["district", "ward"], ["sex", "age"]
TABLES = [("ward", ["sex", "age"]), ("district", ["age"]), (None, ["sex"]), ("ward", [])]


def _respondents(seed: int = 21, n: int = 700) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ward = rng.choice(np.arange(101, 121), n)
    return pd.DataFrame({"district": ward // 4, "ward": ward, "sex": rng.choice(["1", "2", None], n, p=[.5, .48, .02]),
                         "age": rng.choice(["a", "b", "c", "d"], n)})


def _patterns(family: TableFamily) -> list[pd.DataFrame]:
    return [family.table(level, groups).cells for level, groups in TABLES]


def test_a_family_over_the_same_counts_reuses_the_protected_tables(solves):
    records = _respondents()
    first = _patterns(TableFamily(records, LEVELS, GROUPS, min_count=10))
    assert solves and any(t["suppressed"].sum() > t["primary"].sum() for t in first)  # complements were solved for
    solved = len(solves)
    shuffled = records.sample(frac=1.0, random_state=3).reset_index(drop=True).assign(weight=2.5)
    shuffled["ward"] = shuffled["ward"].astype(float)  # 101.0 is the ward "101" all the same
    again = _patterns(TableFamily(shuffled, LEVELS, GROUPS, min_count=10))
    assert len(solves) == solved  # nothing solved again
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_different_counts_or_parameters_do_not_share(solves):
    records = _respondents()
    first = _patterns(TableFamily(records, LEVELS, GROUPS, min_count=10))
    for family in (TableFamily(records.iloc[1:], LEVELS, GROUPS, min_count=10),  # one respondent fewer
                   TableFamily(records, LEVELS, GROUPS, min_count=11),
                   TableFamily(records, LEVELS, GROUPS, min_count=10, protection=0.3),
                   TableFamily(records, LEVELS, GROUPS, min_count=10, shared=False)):
        solved = len(solves)
        _patterns(family)
        assert len(solves) > solved, family.min_count
    moved = records.copy()
    moved.loc[moved.index[0], "age"] = "a" if moved["age"].iloc[0] != "a" else "b"  # same total, other cells
    solved = len(solves)
    other = _patterns(TableFamily(moved, LEVELS, GROUPS, min_count=10))
    assert len(solves) > solved
    assert other[0]["n"].tolist() != first[0]["n"].tolist()


def test_without_the_memo_the_order_tables_are_asked_in_is_irrelevant(solves):
    records = _respondents(seed=5)
    direct = TableFamily(records, LEVELS, GROUPS, min_count=10, shared=False).table("ward", ["sex", "age"]).cells
    margins_first = TableFamily(records, LEVELS, GROUPS, min_count=10, shared=False)
    for level, groups in reversed(TABLES):
        margins_first.table(level, groups)
    pd.testing.assert_frame_equal(margins_first.table("ward", ["sex", "age"]).cells, direct)
    assert int(margins_first.cube.sum()) == len(records)  # the family keeps counts, not records


def test_another_process_adopts_the_patterns_and_solves_nothing(solves):
    """What a second web worker does (:meth:`TableFamily.patterns` travels as JSON): the same tables, and a table
    it protects itself afterwards is the one the first process makes."""
    records = _respondents(seed=8)
    first = TableFamily(records, LEVELS, GROUPS, min_count=10)
    made = _patterns(first)
    saved = json.loads(json.dumps(first.patterns()))
    assert saved["key"] == first.key and len(saved["tables"]) == first.protected >= len(TABLES)
    cell_suppression.forget()  # the other process: nothing protected in its memo
    second = TableFamily(records.sample(frac=1.0, random_state=1), LEVELS, GROUPS, min_count=10)
    assert second.key == first.key and second.protected == 0
    solved = len(solves)
    assert second.adopt(saved) == len(saved["tables"]) and second.adopt(saved) == 0  # once
    for a, b in zip(made, _patterns(second), strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert len(solves) == solved  # adopted, not solved again
    new = ("district", ["sex", "age"])  # not among those saved: protected here, consistently with them
    here = second.table(*new).cells
    cell_suppression.forget()
    alone = TableFamily(records, LEVELS, GROUPS, min_count=10)
    _patterns(alone)
    pd.testing.assert_frame_equal(here, alone.table(*new).cells)


def test_patterns_of_other_counts_are_not_adopted(solves):
    records = _respondents(seed=8)
    first = TableFamily(records, LEVELS, GROUPS, min_count=10)
    _patterns(first)
    cell_suppression.forget()
    for other in (TableFamily(records.iloc[1:], LEVELS, GROUPS, min_count=10),
                  TableFamily(records, LEVELS, GROUPS, min_count=11),
                  TableFamily(records, LEVELS, GROUPS, min_count=10, shared=False)):
        assert other.adopt(first.patterns()) == 0 and other.protected == 0


@pytest.mark.parametrize("damaged", [[None, ["no-such-group"], False, []], ["district", ["sex"], False, [10**6]],
                                     ["district", ["sex"], False, [-1]], ["county", [], False, []]])
def test_damaged_patterns_are_refused_whole(solves, damaged):
    records = _respondents(seed=8)
    first = TableFamily(records, LEVELS, GROUPS, min_count=10)
    _patterns(first)
    saved = first.patterns()
    cell_suppression.forget()
    second = TableFamily(records, LEVELS, GROUPS, min_count=10)
    with pytest.raises(ValueError, match="not"):
        second.adopt({**saved, "tables": [*saved["tables"], damaged]})
    assert second.protected == 0  # not even the sound tables before it

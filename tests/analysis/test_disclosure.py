"""Disclosure control: risk measures against sdcMicro's published examples, local suppression, and
secondary cell suppression audited by an independent linear programme (scipy's linprog)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from analysis import disclosure
from analysis.cell_suppression import TOTAL, Relation, TableFamily, audit, protection_distance
from analysis.disclosure import frequencies, individual_risk, local_suppression, measure_risk

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "sdc" / "sdcmicro_reference.json").read_text())


def test_francdat_matches_sdcmicro_indivrisk():
    case = REFERENCE["francdat"]
    risk = measure_risk(pd.DataFrame(case["keys"]), case["w"])
    assert risk.per_record["f"].tolist() == case["f"]
    np.testing.assert_allclose(risk.per_record["F"], case["F"])
    np.testing.assert_allclose(risk.per_record["risk"], case["risk"], rtol=1e-6)
    assert risk.expected_reidentifications == pytest.approx(case["expected_reidentifications"], abs=1e-6)
    assert risk.global_risk == pytest.approx(case["global_risk"], abs=1e-6)
    assert risk.sample_uniques == 4
    assert risk.below_k == {2: 4, 3: 8, 5: 8}


def test_missing_values_match_every_category_as_in_freqcalc():
    case = REFERENCE["wildcards"]
    keys = pd.DataFrame(case["keys"])
    counts = frequencies(keys, case["w"])
    assert counts["f"].tolist() == case["f"]
    np.testing.assert_allclose(counts["F"], case["F"])
    np.testing.assert_allclose(individual_risk(counts["f"], counts["F"]), case["risk_approx"], rtol=1e-6)
    keys.loc[case["missing_C_rows"], "C"] = None
    counts = frequencies(keys, case["w"])
    assert counts["f"].tolist() == case["f_with_missing"]
    np.testing.assert_allclose(counts["F"], case["F_with_missing"])


def test_without_weights_the_risk_is_one_over_f():
    assert individual_risk([1, 2, 4], [1, 2, 4]).tolist() == [1.0, 0.5, 0.25]


def _survey_keys(n: int = 600, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    keys = pd.DataFrame({"area": rng.integers(0, 30, n), "sex": rng.integers(1, 3, n),
                         "age": rng.integers(0, 4, n), "education": rng.integers(1, 7, n)})
    return keys, rng.uniform(20, 400, n)


def test_local_suppression_reaches_k_anonymity_and_reports_what_it_did():
    keys, _ = _survey_keys()
    before = frequencies(keys)
    assert (before["f"] < 5).sum() > 100
    done = local_suppression(keys, k=5)
    after = frequencies(done.keys)
    assert (after["f"] >= 5).all()
    assert sum(done.suppressed.values()) == len(done.cells) == int(done.keys.isna().sum().sum())
    assert not keys.isna().any().any()  # the input is left alone


def test_local_suppression_spares_the_most_important_key_when_others_suffice():
    keys, _ = _survey_keys()
    done = local_suppression(keys, k=3, importance=["area", "sex", "age", "education"])
    assert done.suppressed["area"] == 0
    assert (frequencies(done.keys)["f"] >= 3).all()


def _every_record(codes: np.ndarray, kept: list[int]):
    """The records that can match record ``i`` found by comparing it with every record: the plain scan."""
    sub = codes[:, kept]

    def candidates(i: int) -> np.ndarray:
        row = sub[i]
        return np.flatnonzero(((sub == row) | (sub == disclosure.MISSING) | (row == disclosure.MISSING)).all(axis=1))
    return candidates


@pytest.mark.parametrize("target", [{"k": 3}, {"threshold": 0.05}], ids=["k", "risk"])
def test_suppression_with_a_kept_key_is_that_of_a_plain_scan(monkeypatch, target):
    """A key kept (the ward of the scientific-use file) is never suppressed; the records each record is compared
    with, listed once per kept value, are those a scan of every record finds, a missing kept value (which matches
    every value) included: the file is the same value for value."""
    keys, w = _survey_keys(n=600, seed=5)
    keys = keys.astype(object)
    keys.loc[keys.index[::50], "area"] = None
    weights = w if "threshold" in target else None
    listed = local_suppression(keys, weights=weights, keep=["area"], **target)
    monkeypatch.setattr(disclosure, "_candidates", _every_record)
    scanned = local_suppression(keys, weights=weights, keep=["area"], **target)
    pd.testing.assert_frame_equal(listed.keys, scanned.keys)
    assert listed.suppressed == scanned.suppressed and listed.suppressed["area"] == 0
    assert sum(listed.suppressed.values()) > 20
    assert listed.keys["area"].isna().sum() == keys["area"].isna().sum()


def test_k_of_one_changes_nothing():
    keys, _ = _survey_keys()
    done = local_suppression(keys, k=1)
    assert sum(done.suppressed.values()) == 0
    pd.testing.assert_frame_equal(done.keys, keys)


def test_local_suppression_to_a_risk_threshold():
    keys, w = _survey_keys()
    assert measure_risk(keys, w).max_risk > 0.05
    done = local_suppression(keys, weights=w, threshold=0.05)
    assert measure_risk(done.keys, w).max_risk <= 0.05
    with pytest.raises(ValueError, match="either k"):
        local_suppression(keys, k=3, weights=w, threshold=0.05)


def _three_by_three() -> tuple[dict, list[Relation]]:
    rows = REFERENCE["audit_3x3"]["rows"]
    values, relations = {}, []
    for r, cells in rows.items():
        for j, v in enumerate(cells):
            values[(r, j)] = float(v)
        values[(r, "+")] = float(sum(cells))
        relations.append(Relation((r, "+"), tuple((r, j) for j in range(3))))
    for j in range(3):
        values[("+", j)] = float(sum(cells[j] for cells in rows.values()))
        relations.append(Relation(("+", j), tuple((r, j) for r in rows)))
    values[("+", "+")] = float(sum(map(sum, rows.values())))
    relations.append(Relation(("+", "+"), tuple((r, "+") for r in rows)))
    return values, relations


def test_audit_reproduces_sdctable_attack_on_the_three_by_three_table():
    values, relations = _three_by_three()
    case = REFERENCE["audit_3x3"]
    one = audit(values, {tuple(case["one_hidden"]["cell"])}, relations, exact=True, upper=54)
    cell = tuple(case["one_hidden"]["cell"])
    assert [one.low[cell], one.high[cell]] == case["one_hidden"]["range"]
    assert one.exposed == [cell]
    four = audit(values, {tuple(c) for c in case["four_hidden"]["cells"]}, relations, exact=True, upper=54)
    assert [four.low[("A", 1)], four.high[("A", 1)]] == case["four_hidden"]["A1"]
    assert [four.low[("B", 2)], four.high[("B", 2)]] == case["four_hidden"]["B2"]
    assert four.exposed == []


def _respondents(seed: int = 11, n: int = 900) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ward = rng.choice(np.arange(101, 125), n, p=np.r_[np.full(16, 0.05), np.full(8, 0.025)])
    return pd.DataFrame({"district": ward // 4, "ward": ward, "sex": rng.choice(["1", "2", None], n, p=[.5, .48, .02]),
                         "age": rng.choice(["a", "b", "c", "d"], n)})


def _independent_ranges(records: pd.DataFrame, table: pd.DataFrame, margins: dict) -> dict:
    """Min and max of each suppressed ward x sex cell from what is published, by scipy's linprog: the ward,
    district, sex and district x sex tables (with their own suppressions) and the ward x sex table."""
    cells = [(w, s) for w in sorted(records["ward"].unique()) for s in ("1", "2")]
    shown = {(int(r.ward), r.sex): r.n for r in table.itertuples() if not r.suppressed}
    hidden = [c for c in cells if c not in shown]
    count = records.groupby(["ward", "sex"]).size()
    index = {c: i for i, c in enumerate(hidden)}
    a_eq, b_eq = [], []
    missing_sex = records[records["sex"].isna()]
    ward_of = records.drop_duplicates("ward").set_index("ward")["district"]

    def equation(parts, total):
        row = np.zeros(len(hidden))
        known = total
        for c in parts:
            if c in index:
                row[index[c]] = 1
            else:
                known -= shown.get(c, 0)
        if row.any():
            a_eq.append(row)
            b_eq.append(known)

    for w in ward_of.index:  # each published ward total = its two sexes + respondents without a sex
        if margins["ward"].get(w) is not None:
            equation([(w, "1"), (w, "2")], margins["ward"][w] - (missing_sex["ward"] == w).sum())
    for s in ("1", "2"):
        for d in ward_of.unique():
            if margins["district_sex"].get((d, s)) is not None:
                equation([(w, s) for w in ward_of.index if ward_of[w] == d], margins["district_sex"][(d, s)])
    upper = len(records)
    out = {}
    for c in hidden:
        objective = np.zeros(len(hidden))
        objective[index[c]] = 1
        low = linprog(objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, upper), method="highs").fun
        high = -linprog(-objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, upper), method="highs").fun
        out[c] = (low, high, float(count.get(c, 0)))
    return out


def test_secondary_suppression_leaves_no_hidden_cell_recoverable():
    records = _respondents()
    family = TableFamily(records, ["district", "ward"], ["sex", "age"], min_count=10, protection=0.3)
    table = family.table("ward", ["sex"]).cells
    assert table["primary"].sum() >= 5
    assert table["suppressed"].sum() > table["primary"].sum()  # complements were needed
    wards = family.table("ward", []).cells
    district_sex = family.table("district", ["sex"]).cells
    margins = {"ward": {int(r.ward): (None if r.suppressed else r.n) for r in wards.itertuples()},
               "district_sex": {(int(r.district), r.sex): (None if r.suppressed else r.n)
                                for r in district_sex.itertuples()}}
    ranges = _independent_ranges(records, table, margins)
    assert ranges
    for (ward, sex), (low, high, value) in ranges.items():
        primary = bool(table[(table["ward"].astype(int) == ward) & (table["sex"] == sex)]["primary"].iloc[0])
        if primary:
            d = protection_distance(value, 0.3)
            assert low <= value - d + 1e-6 and high >= value + d - 1e-6, (ward, sex, low, high, value)
        else:
            assert high - low > 1e-6, (ward, sex, low, high, value)


def test_linked_tables_pass_the_audit_together_and_agree_on_shared_cells():
    records = _respondents(seed=5)
    family = TableFamily(records, ["district", "ward"], ["sex", "age"], min_count=10)
    first = family.table("ward", ["sex", "age"]).cells
    again = TableFamily(records, ["district", "ward"], ["sex", "age"], min_count=10)
    again.table("ward", ["age"])
    assert again.table("ward", ["sex", "age"]).cells.equals(first)  # the order tables are asked in is irrelevant
    values, hidden, relations, primary, withheld = family.all_relations([("ward", ["sex", "age"]), ("district", ["age"]),
                                                              (None, ["sex", "age"])])
    result = audit(values, hidden, relations, primary=primary, protection=0.1, upper=len(records), exact=True,
                   audited=hidden - withheld)
    assert hidden and result.exposed == []
    assert all(c[1] != TOTAL or c[0] is None for c in hidden)


def test_an_area_attribute_such_as_urban_or_rural_cannot_give_a_hidden_ward_away():
    """Urban wards' total minus the urban wards shown would give away a lone hidden urban ward."""
    rng = np.random.default_rng(8)
    sizes = {ward: (rng.integers(3, 9) if ward in (101, 106, 111) else rng.integers(12, 40)) for ward in range(101, 121)}
    wards = np.repeat(list(sizes), list(sizes.values()))
    records = pd.DataFrame({"district": wards // 5, "ward": wards,
                            "area_type": np.where(wards % 2, "urban", "rural")})
    family = TableFamily(records, ["district", "ward"], ["area_type"], min_count=10, area_attributes=["area_type"])
    table = family.table("ward", []).cells
    types = family.table(None, ["area_type"]).cells
    districts = family.table("district", []).cells
    district_types = family.table("district", ["area_type"]).cells
    hidden = [int(w) for w in table.loc[table["suppressed"], "ward"]]
    assert {101, 111} <= set(hidden)
    index = {w: i for i, w in enumerate(hidden)}
    shown = {int(r.ward): r.n for r in table.itertuples() if not r.suppressed}
    a_eq, b_eq = [], []

    def equation(members, total):
        row = np.zeros(len(hidden))
        for w in members:
            if w in index:
                row[index[w]] = 1
        if row.any() and total is not None:
            a_eq.append(row)
            b_eq.append(total - sum(shown.get(w, 0) for w in members))

    for r in types.itertuples():
        equation([w for w in sizes if (w % 2 == 1) == (r.area_type == "urban")], None if r.suppressed else r.n)
    for r in districts.itertuples():
        equation([w for w in sizes if w // 5 == int(r.district)], None if r.suppressed else r.n)
    for r in district_types.itertuples():
        equation([w for w in sizes if w // 5 == int(r.district) and (w % 2 == 1) == (r.area_type == "urban")],
                 None if r.suppressed else r.n)
    equation(list(sizes), len(records))
    for w in hidden:
        objective = np.zeros(len(hidden))
        objective[index[w]] = 1
        low = linprog(objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, len(records)), method="highs").fun
        high = -linprog(-objective, A_eq=np.array(a_eq), b_eq=b_eq, bounds=(0, len(records)), method="highs").fun
        d = protection_distance(sizes[w], 0.1)
        assert low <= sizes[w] - d + 1e-6 and high >= sizes[w] + d - 1e-6, (w, low, high, sizes[w])


def test_frequencies_with_missing_values_equal_a_pairwise_count():
    keys, w = _survey_keys(n=300, seed=9)
    rng = np.random.default_rng(4)
    keys = keys.astype(object).mask(rng.random(keys.shape) < 0.15)
    counts = frequencies(keys, w)
    values = keys.to_numpy()
    missing = pd.isna(values)
    match = np.ones((len(keys), len(keys)), dtype=bool)
    for v in range(values.shape[1]):
        column, gone = values[:, v], missing[:, v]
        match &= (column[:, None] == column[None, :]) | gone[:, None] | gone[None, :]
    assert counts["f"].tolist() == match.sum(axis=1).tolist()
    np.testing.assert_allclose(counts["F"], match @ w)

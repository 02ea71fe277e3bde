"""Selection, probabilities, non-response adjustment, AAPOR rates and the sample-size planner."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from analysis.sampling import (
    SamplingError,
    aapor_rates,
    plan_allocation,
    plan_shortfalls,
    pps_systematic,
    select_adult,
    systematic,
)

SIZES = np.array([120, 45, 300, 80, 60, 210, 95, 150, 40, 700, 55, 130])


def test_pps_probabilities_sum_to_n_and_take_large_groups_for_certain():
    drawn = pps_systematic(SIZES, 4, np.random.default_rng(1))
    assert drawn.probability.sum() == pytest.approx(4)
    assert list(drawn.certain) == [9]  # 700 of 1,985 households: 4 x 700 / 1,985 > 1
    assert len(drawn.chosen) == 4 and len(set(drawn.chosen)) == 4 and 9 in drawn.chosen


def test_pps_same_seed_same_draw():
    one = pps_systematic(SIZES, 5, np.random.default_rng(42)).chosen
    assert list(one) == list(pps_systematic(SIZES, 5, np.random.default_rng(42)).chosen)


@pytest.mark.slow
def test_pps_draws_each_group_as_often_as_its_probability():
    rng = np.random.default_rng(7)
    hits = np.zeros(len(SIZES))
    runs = 20000
    for _ in range(runs):
        drawn = pps_systematic(SIZES, 4, rng)
        hits[drawn.chosen] += 1
    pi = drawn.probability
    se = np.sqrt(pi * (1 - pi) / runs)
    assert np.all(np.abs(hits / runs - pi) <= 4 * se + 1e-12)


def _two_stage_total(rng, listed: np.ndarray, m: int = 8) -> float:
    """Sum of household weights 1/(pi_group pi_household) over one draw (listed households per group)."""
    groups = pps_systematic(SIZES, 4, rng)
    total = 0.0
    for g in groups.chosen:
        households = systematic(int(listed[g]), m, rng)
        total += (1 / (groups.probability[g] * households.probability[households.chosen])).sum()
    return total


def test_weights_sum_to_the_frame_households_exactly_when_the_list_matches_the_count():
    rng = np.random.default_rng(3)
    for _ in range(50):
        assert _two_stage_total(rng, SIZES) == pytest.approx(SIZES.sum(), rel=1e-12)


@pytest.mark.slow
def test_weights_sum_to_the_listed_households_in_expectation_when_lists_differ_from_counts():
    """The frame's counts are old; the teams' lists differ. PPS on the old counts, systematic on the lists:
    the weighted count of households is unbiased for the listed total (Horvitz-Thompson)."""
    listed = SIZES + np.array([10, -5, 30, 0, 12, -20, 3, 8, 6, 40, -4, 9])
    rng = np.random.default_rng(11)
    totals = np.array([_two_stage_total(rng, listed) for _ in range(20000)])
    assert abs(totals.mean() - listed.sum()) < 4 * totals.std() / np.sqrt(len(totals))


def test_systematic_takes_n_distinct_households_each_with_probability_n_over_n():
    rng = np.random.default_rng(5)
    hits = np.zeros(37)
    for _ in range(37000):
        drawn = systematic(37, 8, rng)
        assert len(set(drawn.chosen)) == 8
        hits[drawn.chosen] += 1
    assert drawn.probability[0] == pytest.approx(8 / 37)
    assert np.allclose(hits / 37000, 8 / 37, atol=4 * np.sqrt(8 / 37 * 29 / 37 / 37000))
    assert list(systematic(5, 8, rng).chosen) == [0, 1, 2, 3, 4]


ADULTS = [{"sex": "2", "age": 34, "days_since_birthday": 100}, {"sex": "1", "age": 70, "days_since_birthday": 3},
          {"sex": "1", "age": 40, "days_since_birthday": 200}]


def test_kish_selection_follows_kish_order_with_equal_chances():
    picks = [select_adult(ADULTS, "kish", u) for u in (0.0, 0.34, 0.7)]
    assert [p[0] for p in picks] == [1, 2, 0]  # men oldest first, then women
    assert all(p[1] == pytest.approx(1 / 3) for p in picks)


def test_kish_selection_oversamples_people_sixty_and_over():
    factors = [2.0 if a["age"] >= 60 else 1.0 for a in ADULTS]
    person, probability = select_adult(ADULTS, "kish", 0.45, factors)
    assert (person, probability) == (1, pytest.approx(0.5))
    assert select_adult(ADULTS, "last_birthday", 0.1) == (1, pytest.approx(1 / 3))
    with pytest.raises(SamplingError) as err:
        select_adult(ADULTS, "oldest", 0.1)
    assert err.value.code == "unknown_rule"


def test_aapor_rates_match_a_published_worked_example():
    """The worked example published with R's ``outcomerate`` package (R. Pilliard Hellwig, rOpenSci-reviewed,
    on CRAN; README "Example" section, https://github.com/ropensci/outcomerate): 12 cases, 4 I, 2 P, 1 R,
    1 NC, 1 O, 1 UH, 1 UO, 1 NE, with e = its ``eligibility_rate`` (the default of AAPOR's Outcome Rate
    Calculator 4.0: (I + P + R + NC + O) / (I + P + R + NC + O + NE) = 9 / 10). The README prints every rate
    to three decimals; those printed figures are the reference. The Standard Definitions (AAPOR 2023)
    give the formulas but no numeric example, hence a published one computed by another implementation."""
    counts = {"I": 4, "P": 2, "R": 1, "NC": 1, "O": 1, "UH": 1, "UO": 1, "NE": 1}
    published = {"RR1": 0.364, "RR2": 0.545, "RR3": 0.370, "RR4": 0.556, "RR5": 0.444, "RR6": 0.667,
                 "COOP1": 0.500, "COOP2": 0.750, "COOP3": 0.571, "COOP4": 0.857, "REF1": 0.091,
                 "REF2": 0.093, "REF3": 0.111, "CON1": 0.727, "CON2": 0.741, "CON3": 0.889}
    rates = aapor_rates(counts)  # e by default: the eligible share of cases whose eligibility is known
    assert rates["e"] == pytest.approx(0.9, rel=1e-15)
    for name, value in published.items():
        assert round(rates[name], 3) == pytest.approx(value, abs=1e-12), name


def test_aapor_rates_match_the_published_exact_fractions():
    """The exact expected rates in ``outcomerate``'s own test (tests/testthat/test-rate.R, "Outcome rates
    produce known expected results"): 16 cases, 5 I, 3 P, 2 R, 1 NC, 2 O, 1 UH, 1 UO, 1 NE, e = 0.5."""
    counts = {"I": 5, "P": 3, "R": 2, "NC": 1, "O": 2, "UH": 1, "UO": 1, "NE": 1}
    published = {"RR1": Fraction(1, 3), "RR2": Fraction(8, 15), "RR3": Fraction(5, 14), "RR4": Fraction(4, 7),
                 "RR5": Fraction(5, 13), "RR6": Fraction(8, 13), "COOP1": Fraction(5, 12), "COOP2": Fraction(2, 3),
                 "COOP3": Fraction(1, 2), "COOP4": Fraction(4, 5), "REF1": Fraction(2, 15), "REF2": Fraction(1, 7),
                 "REF3": Fraction(2, 13), "CON1": Fraction(4, 5), "CON2": Fraction(6, 7), "CON3": Fraction(12, 13)}
    rates = aapor_rates(counts, e=0.5)
    for name, value in published.items():
        assert rates[name] == pytest.approx(float(value), rel=1e-14), name


WARDS = pd.DataFrame({"ward_code": [1, 2, 3], "households": [4000, 2500, 6000],
                      "share_age60": [0.18, 0.25, 0.12], "share_minority": [0.10, 0.30, 0.08]})


def test_planner_proposes_clusters_within_the_budget():
    plan = plan_allocation(WARDS, half_width=0.08, cluster_size=10, icc=0.05, response_rate=0.7,
                           oversample={"age60": 2.0}, group_half_width=0.12)
    assert (plan["half_width"] <= 0.08 + 1e-9).all()
    assert (plan[["half_width_age60", "half_width_minority"]] <= 0.12 + 1e-9).all().all()
    plain = plan_allocation(WARDS, half_width=0.08, cluster_size=10, icc=0.05, response_rate=0.7,
                            group_half_width=0.12)
    # oversampling people 60+ twice within households needs fewer visits for the same precision for them
    assert plan.loc[plan["ward_code"] == 3, "visits"].item() < plain.loc[plain["ward_code"] == 3, "visits"].item() \
        or plan["half_width_age60"].max() < plain["half_width_age60"].max()
    small = plan_allocation(WARDS, half_width=0.08, budget=300)
    assert small["visits"].sum() <= 300
    assert (small["half_width"] > 0.08).all()


def _simulated_half_width(households: int, clusters: int, per_cluster: int, icc: float, p: float,
                          rng: np.random.Generator, runs: int = 400) -> float:
    """1.96 x the standard deviation over repeated two-stage draws of a ward's estimated share, where
    the share varies between residential groups with intra-class correlation ``icc``."""
    sizes = rng.integers(60, 240, size=max(clusters * 4, 30))
    sizes = np.round(sizes * households / sizes.sum()).astype(int)
    a, b = p * (1 - icc) / icc, (1 - p) * (1 - icc) / icc  # beta-binomial: ICC = 1 / (a + b + 1)
    group_p = rng.beta(a, b, size=len(sizes))
    people = [rng.random(s) < q for s, q in zip(sizes, group_p, strict=True)]
    truth = sum(x.sum() for x in people) / sizes.sum()
    estimates = []
    for _ in range(runs):
        groups = pps_systematic(sizes, clusters, rng)
        num = den = 0.0
        for g in groups.chosen:
            picked = systematic(int(sizes[g]), per_cluster, rng)
            w = 1 / (groups.probability[g] * picked.probability[picked.chosen])
            num += (w * people[g][picked.chosen]).sum()
            den += w.sum()
        estimates.append(num / den)
    assert abs(np.mean(estimates) - truth) < 0.01
    return 1.96 * float(np.std(estimates))


def test_planned_allocation_meets_its_precision_in_simulation():
    plan = plan_allocation(WARDS.drop(columns="share_minority"), half_width=0.08, cluster_size=10, icc=0.05,
                           response_rate=1.0, p=0.5, oversample={"age60": 2.0})
    assert (plan["half_width"] <= 0.08).all()
    rng = np.random.default_rng(2026)
    for row in plan.itertuples():
        achieved = _simulated_half_width(row.households, row.clusters, row.households_per_cluster, 0.05, 0.5, rng)
        assert achieved <= 0.08 * 1.1, (row.ward_code, achieved)


def test_planner_says_what_it_gave_up_for_the_frame_and_the_budget():
    wards = WARDS.assign(groups=[3, 40, 200], households=[4000, 300, 6000])
    plan = plan_allocation(wards, half_width=0.05, cluster_size=10, icc=0.05, response_rate=0.7)
    short = plan_shortfalls(plan, wards)
    # ward 1 needs more clusters than its 3 groups: all 3 are taken, with more households in each
    few = short.too_few_groups.set_index("ward_code")
    assert 1 in few.index and 3 not in few.index and few.loc[1, "groups"] == 3 and few.loc[1, "clusters_wanted"] > 3
    assert plan.loc[plan["ward_code"] == 1, "clusters"].item() == 3
    assert few.loc[1, "households_per_cluster"] * 3 >= plan.loc[plan["ward_code"] == 1, "visits"].item()
    # ward 2 has 300 households, fewer than the visits ±5 points needs: all visited, the half-width wider
    small = short.too_few_households.set_index("ward_code")
    assert list(small.index) == [2] and small.loc[2, "visits_needed"] > 300
    assert 250 <= small.loc[2, "visits"] <= 300 and small.loc[2, "half_width"] > 0.05
    assert short.budget is None and short
    tight = plan_allocation(wards, half_width=0.05, budget=500)
    budget = plan_shortfalls(tight, wards, 500).budget
    assert budget["budget"] == 500 and budget["visits_needed"] > 500
    assert budget["half_width_low"] > 0.05 and tight["visits"].sum() <= 500
    enough = plan_allocation(WARDS, half_width=0.10, budget=10**6)
    assert not plan_shortfalls(enough, WARDS, 10**6)

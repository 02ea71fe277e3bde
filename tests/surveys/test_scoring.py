"""Scoring as the instruments declare it: DSI 2.0 levels, DigCompSAT bands, SIPAS top-2-box."""

import pytest

from surveys import builtin_instruments, from_dict, score
from surveys.questions import split_personal
from surveys.scoring import _band

DS = next(i for i in builtin_instruments() if i.slug == "digital-skills")
SS = next(i for i in builtin_instruments() if i.slug == "service-satisfaction")
OF = next(i for i in builtin_instruments() if i.slug == "officials-digital-competency")


def _acts(area, n):
    items = [q.name for q in DS.variables if q.name.startswith("act_") and q.competence.split(".")[0] == area]
    return dict.fromkeys(items[:n], "1") | dict.fromkeys(items[n:], "0")


def _done(counts):
    values = {"internet_3m": "1"}
    for area, n in counts.items():
        values |= _acts(area, n)
    return values


@pytest.mark.parametrize(
    ("counts", "areas", "level"),
    [
        ({"1": 2, "2": 2, "3": 3, "4": 3, "5": 3}, [2, 2, 2, 2, 2], 5),  # above basic everywhere
        ({"1": 1, "2": 2, "3": 3, "4": 3, "5": 3}, [1, 2, 2, 2, 2], 4),  # basic: all >= basic
        ({"1": 5, "2": 9, "3": 2, "4": 1, "5": 1}, [2, 2, 1, 1, 1], 4),
        ({"1": 2, "2": 2, "3": 3, "4": 3, "5": 0}, [2, 2, 2, 2, 0], 3),  # low: 4 of 5
        ({"1": 2, "2": 2, "3": 3, "4": 0, "5": 0}, [2, 2, 2, 0, 0], 2),  # narrow: 3 of 5
        ({"1": 1, "2": 1, "3": 0, "4": 0, "5": 0}, [1, 1, 0, 0, 0], 1),  # limited: 2 of 5
        ({"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}, [0, 1, 0, 0, 0], 0),  # no skills: <= 1 of 5
        ({"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}, [0, 0, 0, 0, 0], 0),
    ],
)
def test_dsi_levels(counts, areas, level):
    s = score(DS, _done(counts))
    assert [s[f"dsi_area_{a}"] for a in "12345"] == areas
    assert s["dsi_level"] == level
    assert s["at_least_basic"] == (1.0 if level >= 4 else 0.0)
    assert s["dsi_score"] == pytest.approx(100 * sum(areas) / 10)


def test_device_basics_do_not_count_towards_the_dsi():
    base = score(DS, _done({"1": 1, "2": 1, "3": 1, "4": 1, "5": 0}))
    more = score(DS, _done({"1": 1, "2": 1, "3": 1, "4": 1, "5": 0}) | {"act_wifi": "1", "act_text_size": "1"})
    assert base["dsi_level"] == more["dsi_level"] == 3


def test_non_users_are_not_assessed_but_count_as_not_basic():
    s = score(DS, {"internet_3m": "0", **_acts("1", 5)})
    assert s["dsi_level"] is None and s["dsi_area_1"] is None
    assert s["at_least_basic"] == 0.0 and s["dsi_score"] == 0.0
    unknown = score(DS, {})
    assert unknown["at_least_basic"] is None and unknown["dsi_level"] is None


def test_self_assessment_and_knowledge_bands():
    values = {"sat_find_info": "4", "sat_judge_info": "1", "k_search": "a", "k_fake_news": "dk", "k_backup": "c"}
    s = score(DS, values)
    # area 1: items 1.0, 0.0, 1.0, 0.0, 1.0 -> 60 % -> intermediate
    assert s["sat_area_1"] == pytest.approx(60.0) and s["sat_band_1"] == 3
    assert s["sat_area_2"] is None and s["sat_band_2"] is None
    assert s["knowledge_score"] == pytest.approx(200 / 3)
    assert s["sat_score"] == pytest.approx(60.0)
    assert s["dsi_index"] == pytest.approx(60.0)  # activities not assessed -> left out of the mean


@pytest.mark.parametrize(("percent", "band"), [(0, 1), (29.4, 1), (29.5, 2), (47, 2), (48, 3), (80.4, 3),
                                              (81, 4), (100, 4)])
def test_band_edges(percent, band):
    assert _band(percent, [[0, 1], [30, 2], [48, 3], [81, 4]]) == band


def test_dsi_index_combines_both_modules():
    values = _done({"1": 2, "2": 2, "3": 3, "4": 3, "5": 3}) | {"sat_find_info": "1", "k_search": "b"}
    s = score(DS, values)
    assert s["dsi_score"] == 100 and s["sat_score"] == 0 and s["dsi_index"] == 50


def test_egovernment_indicators():
    s = score(DS, {"npsp_used": "1", "vneid_level": "2", "vneid_used": "1", "cashless": ["cash_only"],
                   "team_help": "0"})
    assert (s["used_online_public_service"], s["vneid_level2_used"], s["cashless_used"], s["helped_by_team"]) == (
        1.0, 1.0, 0.0, 0.0)
    s = score(DS, {"npsp_used": "0", "vneid_level": "1", "vneid_used": "1", "cashless": ["qr", "card"]})
    assert (s["used_online_public_service"], s["vneid_level2_used"], s["cashless_used"]) == (0.0, 0.0, 1.0)
    assert s["helped_by_team"] is None


def test_disability_from_the_washington_group_set():
    assert score(DS, {"wg_seeing": "1", "disability": 0})["disability"] == 0
    assert score(DS, {"wg_seeing": "1", "disability": 1})["disability"] == 1
    assert score(DS, {})["disability"] is None


def test_sipas_top_two_box_and_mean_of_elements():
    values = {"acc_find": "5", "acc_waiting": "2", "acc_equipment": "na", "proc_public": "4", "off_polite": "3",
              "res_ontime": "4", "fb_channel": "na", "overall_sat": "4"}
    s = score(SS, values)
    assert s["sipas_access"] == 50.0 and s["sipas_procedures"] == 100.0 and s["sipas_officials"] == 0.0
    assert s["sipas_results"] == 100.0 and s["sipas_feedback"] is None
    assert s["satisfaction_index"] == pytest.approx(62.5)
    assert s["overall_satisfied"] == 1.0
    assert score(SS, {"overall_sat": "na"})["overall_satisfied"] is None


def test_officials_competency_index():
    values = {"sec_lock_screen": "1", "sec_own_passwords": "0", "sec_2fa": "1", "offsat_search": "4", "offk_count": "b"}
    s = score(OF, values)
    assert s["security_practice"] == pytest.approx(200 / 3)
    assert s["offsat_score"] == 100.0 and s["competency_index"] == pytest.approx((100 + 200 / 3) / 2)


def test_scoring_lives_in_the_instrument():
    data = {**DS.source, "scoring": {"blocks": [{"method": "dsi_activities", "prefix": "x", "headline": "ok",
                                                 "items": ["act_*"],
                                                 "thresholds": {a: [1, 1] for a in "12345"}}]}}
    other = from_dict(data)
    s = score(other, _done({"1": 1, "2": 1, "3": 1, "4": 1, "5": 1}))
    assert s["x_level"] == 5 and s["ok"] == 1 and "dsi_index" not in s


@pytest.mark.parametrize("instrument", [DS, SS, OF], ids=lambda i: i.slug)
def test_scoring_and_personal_details_write_nothing_to_the_shared_instrument(instrument):
    """An instrument is shared by every request's thread: what scoring and the personal details derive
    from it is worked out when it is built, so scoring a response leaves its attributes as they were."""
    before = {k: id(v) for k, v in vars(instrument).items()}
    values = {q.name: (q.choices[0].code if q.choices else "1") for q in instrument.variables}
    score(instrument, values)
    split_personal(instrument, values)
    assert {k: id(v) for k, v in vars(instrument).items()} == before
    assert len(instrument.scoring_items) == len(instrument.scoring.get("blocks") or [])

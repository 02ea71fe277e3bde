"""A survey's ``area`` setting: one province, several, or the whole country; its area question accepts the
communes of exactly those provinces, and the setting survives an XLSForm round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

import surveys
from surveys import areas, collation
from surveys.errors import Code, InstrumentError
from surveys.questions import kind
from surveys.xlsform import import_xlsform
from surveys.xlsform_export import export_xlsform

FIXTURES = Path(__file__).parent.parent / "fixtures" / "national"
HCMC, DA_NANG = 79, 48


def test_the_area_setting_names_the_provinces_in_code_order():
    assert areas.coverage(areas.NATIONAL) == tuple(sorted(p.code for p in areas.provinces()))
    assert len(areas.coverage(areas.NATIONAL)) == 34
    assert areas.coverage({"provinces": [HCMC, 1]}) == (1, HCMC)
    assert areas.coverage_setting((1, HCMC)) == {"provinces": [1, HCMC]}
    assert areas.coverage_setting(areas.coverage(areas.NATIONAL)) == areas.NATIONAL


@pytest.mark.parametrize("setting", ["nation", {"provinces": []}, {"provinces": [999]}, {"provinces": ["1"]},
                                     {"provinces": [1], "extra": 2}, [1, 79], {"provinces": [True]}])
def test_a_bad_area_setting_is_refused_with_the_field_named(setting):
    assert areas.coverage(setting) is None
    source = surveys.load_yaml(FIXTURES / "two-provinces.yaml").source
    with pytest.raises(InstrumentError) as raised:
        surveys.from_dict({**source, "area": setting}, "bad.yaml")
    assert [(p.code, p.field) for p in raised.value.problems] == [(Code.BAD_VALUE, "area")]


def test_the_area_question_takes_the_communes_of_the_covered_provinces_only():
    instrument = surveys.load_yaml(FIXTURES / "two-provinces.yaml")
    assert instrument.area == (1, HCMC)
    ward = instrument.question("ward")
    area = kind("area")
    hanoi, saigon, danang = areas.wards(1)[0], areas.wards(HCMC)[0], areas.wards(DA_NANG)[0]
    assert area.convert(ward, str(hanoi.code)) == (hanoi.code, None)
    assert area.convert(ward, saigon.code) == (saigon.code, None)
    assert area.convert(ward, danang.code)[0] is None
    assert area.json(ward, lambda q: {}) == {"province": 1, "provinces": [1, HCMC]}


def test_a_survey_without_the_setting_keeps_its_question_province():
    source = surveys.load_yaml(FIXTURES / "two-provinces.yaml").source
    plain = {k: v for k, v in source.items() if k != "area"}
    plain["pages"][0]["questions"][0] = {k: v for k, v in plain["pages"][0]["questions"][0].items()
                                         if k != "provinces"} | {"province": DA_NANG}
    instrument = surveys.from_dict(plain)
    assert instrument.area == ()
    assert kind("area").convert(instrument.question("ward"), areas.wards(DA_NANG)[0].code)[1] is None


def test_the_national_setting_survives_an_xlsform_round_trip(tmp_path):
    instrument = surveys.load_yaml(FIXTURES / "whole-country.yaml")
    path = export_xlsform(instrument, tmp_path / "whole-country.xlsx")
    again = import_xlsform(path)
    assert again.area == instrument.area and len(again.area) == 34
    last = areas.wards(96)[-1]
    assert kind("area").convert(again.question("ward"), last.code) == (last.code, None)


def test_provinces_are_listed_by_their_own_name_in_vietnamese_order():
    names = [p.name for p in sorted(areas.provinces(), key=lambda p: collation.province_key(p.name))]
    own = [n.removeprefix("Thành phố ").removeprefix("Tỉnh ") for n in names]
    assert own.index("Hà Nội") == own.index("Gia Lai") + 1 and own.index("Hà Tĩnh") == own.index("Hà Nội") + 1
    assert own.index("Cà Mau") < own.index("Cao Bằng") < own.index("Cần Thơ") < own.index("Đà Nẵng")
    assert own.index("Lai Châu") < own.index("Lạng Sơn") < own.index("Lào Cai") < own.index("Lâm Đồng")
    assert own[-1] == "Vĩnh Long" and len(own) == 34

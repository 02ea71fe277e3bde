"""The official code table shipped in ``surveys/data`` and the name checks built on it."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest

from surveys import areas

#: sha256 of the files as built by ``surveys/data/build_areas.py`` from vietnam-provinces 2026.9.0
#: (wheel sha256 b5f3540a…ebcd1) and 2025.10.1; a hand edit of either file fails here
AREAS_SHA256 = "2e9166a150af9657ab744e593f519b47cf16cf58b54f7460ca9b0c691e7aa83f"
DRAFT_SHA256 = "21473c41fe2a327f0b07652ab21f1fda70419412cf6a650179bbdab7e1ac423b"


def test_the_table_is_the_one_built_from_the_pinned_wheel():
    assert hashlib.sha256(areas.AREAS_CSV.read_bytes()).hexdigest() == AREAS_SHA256
    assert hashlib.sha256(areas.DRAFT_CSV.read_bytes()).hexdigest() == DRAFT_SHA256
    assert "2026.9.0" in areas.data_version() and "b5f3540a98937d38" in areas.data_version()


def test_the_table_has_every_unit_of_the_reform_under_its_official_code():
    assert len(areas.provinces()) == 34 and len(areas.all_wards()) == 3321
    assert len(areas.wards(areas.HANOI)) == 126
    # the codes the draft numbering gave to other wards (issue 12)
    assert areas.all_wards()[226].name == "Phường Văn Miếu - Quốc Tử Giám"
    assert areas.all_wards()[331].name == "Phường Hoàng Mai"


def test_the_draft_map_is_one_to_one_and_keeps_each_ward_by_name():
    mapping = areas.draft_to_official()
    assert len(mapping) == 3321 and sorted(mapping.values()) == sorted(areas.all_wards())
    names = areas.draft_names()
    assert all(areas.name_key(names[d]) == areas.name_key(areas.all_wards()[o].name) for d, o in mapping.items())
    hanoi = areas.ward_codes(areas.HANOI)
    assert sum(d != o for d, o in mapping.items()) == 123
    assert sum(d != o and o in hanoi for d, o in mapping.items()) == 29
    assert areas.all_wards()[mapping[226]].name == "Phường Kim Liên"


@pytest.mark.parametrize(("a", "b"), [
    ("Xã Thanh Thuỷ", "Xã Thanh Thủy"),  # old and new tone placement
    ("Phường Hoà Bình", "phường hòa bình"),
    ("Văn Miếu – Quốc Tử Giám", "Văn Miếu - Quốc Tử Giám"),
    ("Phường B’Lao", "Phường B'Lao"),
])
def test_names_that_are_the_same_name(a, b):
    assert areas.name_key(a) == areas.name_key(b)
    assert areas.name_key(unicodedata.normalize("NFD", a)) == areas.name_key(b)


@pytest.mark.parametrize(("a", "b"), [("Xã Văn Lang", "Xã Văn Lăng"), ("Xã Thanh An", "Xã Thạnh An"),
                                      ("Xã Tân Thành", "Xã Tân Thạnh"), ("Phường Kim Liên", "Phường Kim Lien")])
def test_names_of_two_places_stay_apart(a, b):
    assert areas.name_key(a) != areas.name_key(b)


def test_a_ward_name_is_checked_with_or_without_its_prefix_but_not_with_another():
    ward = next(w for w in areas.wards(areas.HANOI) if w.division_type == "phường")
    bare = ward.name.split(" ", 1)[1]
    assert areas.ward_name_problem(ward.code, ward.name) is None
    assert areas.ward_name_problem(ward.code, bare.upper()) is None
    assert areas.ward_name_problem(ward.code, "") is None
    assert areas.ward_name_problem(ward.code, "Xã " + bare) == ward.name
    other = next(w for w in areas.wards(areas.HANOI) if w.code != ward.code)
    assert areas.ward_name_problem(ward.code, other.name) == ward.name

"""The question-type registry and the XLSForm types it brings: time, dateTime, groups inside repeats,
and a clear refusal of media types."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveys import check, clock
from surveys.errors import Code, InstrumentError
from surveys.loader import from_dict
from surveys.messages import sheet_place
from surveys.questions import QUESTION_TYPES, XLSFORM_TYPES, kind
from surveys.xlsform import import_xlsform
from surveys.xlsform_export import export_xlsform

FORMS = Path(__file__).resolve().parents[1] / "fixtures/xlsforms"


def test_each_type_is_one_module_and_knows_its_xlsform_names():
    assert {"time", "dateTime"} <= set(QUESTION_TYPES)
    assert XLSFORM_TYPES["time"] == "time" and XLSFORM_TYPES["dateTime"] == "dateTime"
    assert XLSFORM_TYPES["select one"] == "single" and XLSFORM_TYPES["range"] == "decimal"
    for name in QUESTION_TYPES:
        assert kind(name).__module__.startswith("surveys.questions."), name


@pytest.mark.parametrize(("value", "expected"), [
    ("10:30", "10:30"), ("07:05:59", "07:05"), (" 23:59 ", "23:59"), ("25:00", None), ("7h", None), (730, None),
])
def test_a_time_is_hours_and_minutes(value, expected):
    inst = import_xlsform(FORMS / "khaosat-time_datetime.xlsx")
    result = check(inst, {"visit_time": value, "ward_pick": "1"})
    assert result.values.get("visit_time") == expected
    assert ("visit_time" in result.errors) == (expected is None)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-03-04T08:15", "2026-03-04T08:15"),
    ("2026-03-04T01:15:00Z", "2026-03-04T08:15"),  # an ODK client's UTC moment, in Hà Nội time
    ("2026-03-04T23:30:00+00:00", "2026-03-05T06:30"),
    ("2026-03-04 08:15", "2026-03-04T08:15"),
    ("2026-03-04", None), ("2026-02-30T10:00", None), ("soon", None),
])
def test_a_date_time_is_stored_in_the_survey_zone(value, expected):
    inst = import_xlsform(FORMS / "khaosat-time_datetime.xlsx")
    with clock.use("Asia/Ho_Chi_Minh"):
        result = check(inst, {"visit_at": value, "ward_pick": "1", "visit_time": "10:00"})
    assert result.values.get("visit_at") == expected
    assert ("visit_at" in result.errors) == (expected is None)


def test_time_types_survive_an_xlsform_round_trip(tmp_path):
    inst = import_xlsform(FORMS / "khaosat-time_datetime.xlsx")
    back = import_xlsform(export_xlsform(inst, tmp_path / "back.xlsx"))
    assert back == inst


def test_a_group_inside_a_repeat_opens_into_its_fields_with_its_relevance():
    inst = import_xlsform(FORMS / "khaosat-group_in_repeat.xlsx")
    [members] = inst.questions
    assert [(q.name, q.type) for q in members.items] == [("m_age", "integer"), ("m_phone", "single"),
                                                         ("m_call", "time")]
    rows = [{"m_age": "70", "m_phone": "1", "m_call": "09:00"}, {"m_age": "30", "m_phone": "1", "m_call": "08:00"}]
    assert check(inst, {"members": rows}).values == {"members": [
        {"m_age": 70, "m_phone": "1", "m_call": "09:00"}, {"m_age": 30}]}  # the older-people group asks only at 60+
    assert "members" in check(inst, {"members": [{"m_age": "70"}]}).errors  # required inside the open group


def test_a_media_question_is_refused_naming_its_row_in_both_languages(say):
    with pytest.raises(InstrumentError) as info:
        import_xlsform(FORMS / "khaosat-media.xlsx")
    [problem] = info.value.problems
    assert problem.code is Code.UNSUPPORTED and problem.where == sheet_place("survey", 3) and problem.value == "image"
    assert problem.detail.code == "instrument.why.no_media"
    assert "photos" in say(problem) and "ảnh" in say(problem, "vi")


def test_yaml_takes_the_new_types_too():
    data = {"slug": "gio", "title": {"vi": "Giờ", "en": "Time"}, "pages": [{"name": "p", "title": {"vi": "P", "en": "P"},
            "questions": [{"name": "at", "type": "time", "label": {"vi": "Giờ", "en": "Time"},
                           "constraint": ". >= '08:00'"}]}]}
    inst = from_dict(data)
    assert check(inst, {"at": "09:15"}).values == {"at": "09:15"}

"""XLSForm in (through pyxform) and out (openpyxl): real-world forms, broken forms, round trips."""

import warnings
from pathlib import Path

import pytest
from openpyxl import Workbook
from pyxform.xls2xform import convert

from surveys import InstrumentError, builtin_instruments, check, instrument_to_json, load_instrument
from surveys.errors import Code
from surveys.questions.contact import recognised
from surveys.xlsform import import_xlsform, language_code, read_xlsform
from surveys.xlsform_export import export_xlsform

#: real-world forms written by others (provenance in the folder's README)
FORMS = Path(__file__).parents[1] / "fixtures" / "xlsforms"

#: file -> None if it imports, else (code of the first problem, text in its message)
REAL_FORMS = {
    "kobo-sample_xlsform": None,
    "kobo-acknowledge": None,
    "kobo-calculations_constraints_matrix": None,
    "kobo-repeating_matrix_question": None,
    "pyxform-yes_or_no_question": None,
    "xlsform-cascading_select": None,
    "kobo-date_time": None,  # its 'no-calendar_date' has a hyphen, legal in XLSForm
    "kobo-form_meta": (Code.UNSUPPORTED, "no question KhaoSat can ask"),
    "kobo-number_decimal_range_question_types": (Code.XLSFORM_INVALID, "sheet 'survey', row 9"),
    "kobo-parent": None,
    "pyxform-UCL_Biomass_Plot_Form": (Code.MISSING_ATTACHMENT, "row 16: The attached file 'UCL_regions.csv'"),
    "pyxform-bad_calc": (Code.BAD_EXPRESSION, "sheet 'survey', row 2"),
    "pyxform-choice_filter_test": (Code.DUPLICATE_NAME, "sheet 'choices', row 6"),
    "pyxform-duplicate_columns": (Code.DUPLICATE_NAME, "The name 'label' is used twice."),
    "pyxform-group": None,
    "pyxform-loop": (Code.UNSUPPORTED, "'loop'"),
    "pyxform-or_other": (Code.BAD_EXPRESSION, "'pastel=yes'"),
    "pyxform-xlsform_spec_test": (Code.UNSUPPORTED, "row 35: The feature 'barcode'"),
    "khaosat-time_datetime": None,
    "khaosat-group_in_repeat": None,
    "khaosat-select_from_file": (Code.MISSING_ATTACHMENT, "row 2: The attached file 'wards.csv' is missing"),
    "khaosat-contact": None,
    "khaosat-contact_constraints": None,
    "khaosat-hyphen_names": None,
    "khaosat-media": (Code.UNSUPPORTED, "row 3: The feature 'image'"),
}


@pytest.mark.parametrize(("constraint", "words", "kind"), [
    ("regex(., '^[0-9]{10}$')", "mobile Số điện thoại", "phone"),
    ("regex(., '^[0-9]{10}$')", "tax_code Mã số thuế", None),  # ten digits, not said to be a phone
    ("regex(., '^0[0-9]{9}$')", "q7", "phone"),
    (r"regex(., '^\+?84[0-9]{9}$')", "q8", "phone"),
    (r"regex(.,'^(\+84|0)[35789][0-9]{8}$') and string-length(.) <= 12", "lien_lac", "phone"),
    ('regex(., "^[0-9]{10,11}$")', "sdt", "phone"),
    (r"regex(., '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$')", "q9", "email"),
    (r"regex(., '^[^@\s]+@[^@\s]+$')", "contact", "email"),
    ("regex(., '^[0-9]{12}$')", "cccd phone", None),  # a citizen id takes no phone number
    ("regex(., '^.*$')", "phone", None),  # takes anything
    ("regex(., '[0-9]+')", "phone", None),
    (". > 10", "phone", None),
    ("regex(., '^(a+)+$')", "phone", None),
    ("regex(., '(?<=x)y')", "phone", None),  # refused by the regex engine: not recognised
])
def test_a_phone_or_email_regex_is_recognised(constraint, words, kind):
    assert recognised(constraint, words) == kind


def test_every_shared_form_has_an_expectation():
    assert {p.stem for p in FORMS.glob("*.xlsx")} == set(REAL_FORMS)


@pytest.mark.parametrize("name", sorted(REAL_FORMS))
def test_real_forms_import_or_fail_clearly(name, say):
    path = FORMS / f"{name}.xlsx"
    expected = REAL_FORMS[name]
    if expected is None:
        instrument = import_xlsform(path)
        assert instrument.questions and check(instrument, {}).values is not None
        assert instrument_to_json(instrument)["slug"] == instrument.slug
    else:
        with pytest.raises(InstrumentError) as info:
            import_xlsform(path)
        first = info.value.problems[0]
        assert first.code is expected[0]
        assert expected[1] in say(first) and say(first).startswith(f"[{first.code.name}] {name}")
        assert say(first, "vi") != say(first)


def test_languages_and_cascading_selects():
    cascade = import_xlsform(FORMS / "xlsform-cascading_select.xlsx")
    county = cascade.question("selected_county")
    assert county.extra["choice_filter"] == "state=${selected_state}"
    assert check(cascade, {"selected_state": "texas", "selected_county": "cameron"}).ok
    assert not check(cascade, {"selected_state": "texas", "selected_county": "king"}).ok
    tree = instrument_to_json(cascade)["pages"][0]["questions"][1]["choice_filter"]["tree"]
    assert tree["args"][0] == {"kind": "col", "value": "state"}


def test_third_language_is_data(tmp_path):
    survey = [["type", "name", "label::Swahili (sw)", "label:English", "label::Vietnamese (vi)"],
              ["text", "name", "Jina", "Name", "Tên"]]
    imported = read_xlsform(_xlsx(tmp_path, survey))
    assert imported.data["languages"] == ["vi", "en", "sw"]
    assert imported.data["pages"][0]["questions"][0]["label"] == {"sw": "Jina", "en": "Name", "vi": "Tên"}


def test_language_codes():
    assert language_code("Vietnamese (vi)") == "vi"
    assert language_code("English") == "en"
    assert language_code("Hmong (hmn)") == "hmn"
    assert language_code("default", "vi") == "vi"
    assert language_code("Klingon") is None


@pytest.mark.parametrize("instrument", builtin_instruments(), ids=lambda i: i.slug)
def test_export_converts_with_pyxform_and_round_trips(instrument, tmp_path):
    path = export_xlsform(instrument, tmp_path / f"{instrument.slug}.xlsx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        produced: list[str] = []
        result = convert(str(path), warnings=produced)
    assert "<h:html" in result.xform and produced == []
    back = load_instrument(path)
    assert back == instrument
    assert back.scoring == instrument.scoring and back.description == instrument.description
    assert [q.competence for q in back.variables] == [q.competence for q in instrument.variables]


def _xlsx(tmp_path, survey, choices=None, settings=None, name="form.xlsx"):
    book = Workbook()
    book.remove(book.active)
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        if rows:
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


HEAD = ["type", "name", "label::Vietnamese (vi)", "label::English (en)", "relevant", "required"]


@pytest.mark.parametrize(
    ("rows", "code", "place"),
    [
        ([["integer", "age", "Tuổi", None, None, None]], Code.MISSING_TRANSLATION, "sheet 'survey', row 2"),
        ([["integer", "age", "Tuổi", "Age", None, None], ["image", "photo", "Ảnh", "Photo", None, None]],
         Code.UNSUPPORTED, "sheet 'survey', row 3"),
        ([["integer", "age", "Tuổi", "Age", None, None], ["text", "nm", "Tên", "Name", "${agee} > 3", None]],
         Code.XLSFORM_INVALID, "Could not find the name 'agee'"),
        ([["integer", "age", "Tuổi", "Age", None, None], ["text", "nm", "Tên", "Name", "${age} ==", None]],
         Code.BAD_EXPRESSION, "sheet 'survey', row 3"),
        ([["integer", "age", "Tuổi", "Age", None, None], ["text", "nm", "Tên", "Name", None, "${age} > 1"]],
         Code.UNSUPPORTED, "sheet 'survey', row 3"),
        ([["select_one yn", "ok", "Được?", "OK?", None, None]], Code.XLSFORM_INVALID, ""),
        ([["integer", "1age", "Tuổi", "Age", None, None]], Code.XLSFORM_INVALID, "row 2"),
    ],
    ids=["missing-translation", "unsupported-type", "unknown-reference", "bad-expression", "conditional-required",
         "missing-choice-list", "bad-name"],
)
def test_broken_xlsforms(tmp_path, rows, code, place, say):
    path = _xlsx(tmp_path, [HEAD, *rows])
    with pytest.raises(InstrumentError) as info:
        import_xlsform(path)
    first = info.value.problems[0]
    assert first.code is code and place in say(first) and first.file == "form.xlsx"


def test_not_a_workbook(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("this is not a spreadsheet")
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    assert info.value.problems[0].code is Code.XLSFORM_INVALID


def test_no_survey_sheet(tmp_path, say):
    path = _xlsx(tmp_path, None, choices=[["list_name", "name", "label"], ["yn", "1", "Yes"]])
    with pytest.raises(InstrumentError) as info:
        import_xlsform(path)
    assert info.value.problems[0].code is Code.XLSFORM_INVALID
    assert "survey" in say(info.value.problems[0])


def test_a_small_bilingual_form_imports_with_settings(tmp_path):
    survey = [HEAD + ["constraint", "constraint_message::Vietnamese (vi)", "constraint_message::English (en)"],
              ["integer", "age", "Tuổi", "Age", None, "yes", ". >= 0", "Không âm", "Not negative"],
              ["select_one yn", "smoker", "Hút thuốc?", "Smoke?", "${age} >= 15", None, None, None, None]]
    choices = [["list_name", "name", "label::Vietnamese (vi)", "label::English (en)"],
               ["yn", "1", "Có", "Yes"], ["yn", "0", "Không", "No"]]
    settings = [["form_title", "form_id", "version"], ["Sức khỏe", "health_2025", "7"]]
    instrument = import_xlsform(_xlsx(tmp_path, survey, choices, settings))
    assert (instrument.slug, instrument.version, instrument.languages) == ("health-2025", 7, ("vi", "en"))
    age = instrument.question("age")
    assert age.required and age.constraint == ". >= 0" and age.constraint_message == {"vi": "Không âm",
                                                                                       "en": "Not negative"}
    assert check(instrument, {"age": "10", "smoker": "1"}).values == {"age": 10}
    assert check(instrument, {"age": "-1"}).errors["age"]["en"] == "Not negative"

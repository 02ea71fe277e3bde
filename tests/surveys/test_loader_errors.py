"""Broken instrument files: each fails with a catalogued problem naming the file, place and field."""

from pathlib import Path

import pytest

from surveys import InstrumentError, from_dict, load_instrument, load_yaml
from surveys.errors import Code

FIXTURES = Path(__file__).parents[1] / "fixtures" / "surveys"
BROKEN = FIXTURES / "broken"

#: file -> (code, place, field)
EXPECTED = {
    "not_yaml": (Code.FILE_UNREADABLE, "", ""),
    "top_list": (Code.NOT_A_MAPPING, "", ""),
    "missing_slug": (Code.MISSING_FIELD, "", "slug"),
    "bad_slug": (Code.BAD_VALUE, "", "slug"),
    "missing_english": (Code.MISSING_TRANSLATION, "pages[0].questions[1]", "label"),
    "empty_vietnamese": (Code.MISSING_TRANSLATION, "pages[0].questions[1]", "label"),
    "unknown_type": (Code.UNKNOWN_TYPE, "pages[0].questions[1]", "type"),
    "duplicate_name": (Code.DUPLICATE_NAME, "pages[0].questions[2]", "name"),
    "reserved_name": (Code.RESERVED_NAME, "pages[0].questions[2]", "name"),
    "bad_name": (Code.BAD_NAME, "pages[0].questions[1]", "name"),
    "unknown_choice_list": (Code.UNKNOWN_CHOICE_LIST, "pages[0].questions[2]", "choices"),
    "one_choice": (Code.NO_CHOICES, "choice_lists.sex", "choices"),
    "duplicate_code": (Code.DUPLICATE_NAME, "choice_lists.sex[1]", "code"),
    "bad_expression": (Code.BAD_EXPRESSION, "pages[0].questions[3]", "calculation"),
    "unknown_reference": (Code.UNKNOWN_REFERENCE, "pages[0].questions[3]", "calculation"),
    "cycle": (Code.CYCLE, "pages[0].questions[3]", "calculation"),
    "type_mismatch": (Code.TYPE_MISMATCH, "pages[0].questions[3]", "calculation"),
    "unknown_choice_code": (Code.UNKNOWN_CHOICE_CODE, "pages[0].questions[3]", "calculation"),
    "bad_competence": (Code.BAD_COMPETENCE, "pages[0].questions[1]", "competence"),
    "knowledge_wrong_answer": (Code.BAD_CORRECT, "pages[0].questions[2]", "correct"),
    "knowledge_no_answer": (Code.MISSING_FIELD, "pages[0].questions[2]", "correct"),
    "misspelt_field": (Code.UNKNOWN_FIELD, "pages[0].questions[1]", "relevent"),
    "bad_scoring": (Code.BAD_SCORING, "scoring", "scoring"),
    "unquoted_comma": (Code.BAD_VALUE, "pages[0].questions[1]", "label"),
    "calculate_without_formula": (Code.MISSING_FIELD, "pages[0].questions[3]", "calculation"),
    "unlisted_language": (Code.BAD_VALUE, "", "title"),
}


def test_every_broken_file_has_an_expectation():
    assert {p.stem for p in BROKEN.glob("*.yaml")} == set(EXPECTED)
    assert len(EXPECTED) >= 15


def test_the_unbroken_file_loads():
    instrument = load_yaml(FIXTURES / "valid.yaml")
    assert instrument.slug == "tiny" and [q.name for q in instrument.questions][:2] == ["consent", "age"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_gives_one_clear_problem(name, say):
    code, where, field = EXPECTED[name]
    with pytest.raises(InstrumentError) as info:
        load_instrument(BROKEN / f"{name}.yaml")
    problems = info.value.problems
    assert [(p.code, p.where, p.field) for p in problems] == [(code, where, field)]
    problem = problems[0]
    assert problem.file == f"{name}.yaml"
    en, vi = say(problem, "en"), say(problem, "vi")
    assert en.startswith(f"[{code.name}] {name}.yaml") and where in en
    assert vi != en and vi.startswith(f"[{code.name}] {name}.yaml")
    assert "{" not in en.replace("{…}", "").replace("${", "") and "Traceback" not in en
    assert problem.message.code == f"instrument.{code.name}"


def test_near_misses_are_suggested(say):
    with pytest.raises(InstrumentError) as info:
        load_yaml(BROKEN / "unknown_reference.yaml")
    assert "Did you mean 'age'?" in say(info.value.problems[0])
    with pytest.raises(InstrumentError) as info:
        load_yaml(BROKEN / "misspelt_field.yaml")
    assert "instrument.did_you_mean(name=relevant)" in str(info.value)


def test_all_problems_are_collected_before_failing():
    data = {"slug": "x y", "title": {"vi": "A"}, "pages": [{"name": "p", "title": {"vi": "T", "en": "T"},
                                                             "questions": [{"name": "q", "type": "nope"}]}]}
    with pytest.raises(InstrumentError) as info:
        from_dict(data)
    codes = [p.code for p in info.value.problems]
    assert Code.BAD_VALUE in codes and Code.MISSING_TRANSLATION in codes and Code.UNKNOWN_TYPE in codes


@pytest.mark.parametrize("data", [None, 3, "text", [], {"pages": "x"}, {"slug": "ok", "pages": [None, 1]}])
def test_garbage_data_never_raises_anything_else(data):
    with pytest.raises(InstrumentError):
        from_dict(data)


def test_missing_file(tmp_path):
    with pytest.raises(InstrumentError) as info:
        load_yaml(tmp_path / "absent.yaml")
    assert info.value.problems[0].code is Code.FILE_UNREADABLE

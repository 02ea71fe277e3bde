"""Caps on an uploaded instrument: refused with a coded problem, before the file is parsed in full;
and every file of the XLSForm corpus imports or fails with coded, translated problems."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

import surveys
from surveys.errors import Code, InstrumentError
from surveys.limits import Limits
from surveys.messages import sheet_place

XLSFORMS = Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms"
#: the "billion laughs": nine levels of nine aliases, 9**9 strings once expanded
LAUGHS = "slug: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True))


def workbook(path: Path, choices: int = 2, depth: int = 0, questions: int = 1) -> Path:
    """An XLSForm with ``choices`` choice rows, ``depth`` nested groups and ``questions`` questions."""
    book = openpyxl.Workbook(write_only=True)
    survey = book.create_sheet("survey")
    survey.append(["type", "name", "label"])
    for level in range(depth):
        survey.append(["begin group", f"g{level}", f"Group {level}"])
    survey.append(["select_one ward", "ward", "Which ward?"])
    for number in range(questions - 1):
        survey.append(["text", f"q{number}", f"Question {number}"])
    for _level in range(depth):
        survey.append(["end group", "", ""])
    sheet = book.create_sheet("choices")
    sheet.append(["list_name", "name", "label"])
    for number in range(choices):
        sheet.append(["ward", f"w{number}", f"Ward {number}"])
    book.save(path)
    return path


def codes(exc: pytest.ExceptionInfo) -> list[Code]:
    return [p.code for p in exc.value.problems]


def test_a_choices_sheet_over_the_cap_is_refused_at_the_first_row_over_it(tmp_path, say):
    path = workbook(tmp_path / "wards.xlsx", choices=5_000)
    with pytest.raises(InstrumentError) as refused:
        surveys.load_instrument(path, "Danh sách phường.xlsx", Limits(max_choices=1_000))
    problem = refused.value.problems[0]
    assert codes(refused) == [Code.TOO_MANY_ROWS]
    assert problem.where == sheet_place("choices", 1002) and problem.file == "Danh sách phường.xlsx"
    assert "Trang tính 'choices' có hơn 1,000 dòng" in say(problem, "vi")
    assert "The sheet 'choices' has more than 1,000 rows" in say(problem, "en")
    assert surveys.load_instrument(path, "wards.xlsx", Limits(max_choices=5_000)).slug == "wards"


def test_survey_rows_groups_and_bytes_have_caps(tmp_path):
    with pytest.raises(InstrumentError) as rows:
        surveys.load_instrument(workbook(tmp_path / "long.xlsx", questions=60), limits=Limits(max_rows=50))
    assert codes(rows) == [Code.TOO_MANY_ROWS] and rows.value.problems[0].field == "survey"
    with pytest.raises(InstrumentError) as deep:
        surveys.load_instrument(workbook(tmp_path / "deep.xlsx", depth=5), limits=Limits(max_depth=3))
    assert codes(deep) == [Code.TOO_DEEP]
    assert surveys.load_instrument(workbook(tmp_path / "ok.xlsx", depth=3), limits=Limits(max_depth=3)).slug == "ok"
    with pytest.raises(InstrumentError) as large:
        surveys.load_instrument(workbook(tmp_path / "big.xlsx"), limits=Limits(max_bytes=1_000))
    assert codes(large) == [Code.TOO_LARGE]


def test_a_spent_time_budget_refuses_the_file(tmp_path, say):
    with pytest.raises(InstrumentError) as slow:
        surveys.load_instrument(workbook(tmp_path / "slow.xlsx", choices=3_000), limits=Limits(seconds=0))
    assert codes(slow) == [Code.TOO_SLOW]
    assert "giây" in say(slow.value.problems[0], "vi")


def test_a_billion_laughs_is_refused_before_it_is_expanded(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS)
    assert len(LAUGHS.encode()) < 400
    with pytest.raises(InstrumentError) as refused:
        surveys.load_instrument(path)
    assert codes(refused) == [Code.TOO_MANY_ALIASES]
    expanded = int(refused.value.problems[0].value.split(" ")[0].replace(",", ""))
    assert expanded > 9**9, "measured, never built: the nodes it would have expanded to"
    with pytest.raises(InstrumentError) as counted:
        surveys.load_instrument(path, limits=Limits(max_yaml_aliases=20))
    assert codes(counted) == [Code.TOO_MANY_ALIASES]


def test_a_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("slug: &a [x, *a]\n")
    with pytest.raises(InstrumentError) as refused:
        surveys.load_instrument(path)
    assert codes(refused) == [Code.TOO_MANY_ALIASES]


def test_the_builtin_instruments_load_within_the_default_caps():
    for path in sorted(surveys.BUILTIN_DIR.glob("*.yaml")):
        assert surveys.load_instrument(path, limits=Limits()).slug == path.stem


@pytest.mark.parametrize("path", sorted(XLSFORMS.glob("*.xlsx")), ids=lambda p: p.name)
def test_every_corpus_file_imports_or_fails_with_coded_translated_problems(path, say):
    name = f"Tệp của tôi - {path.name}"
    try:
        instrument = surveys.load_instrument(path, name)
    except InstrumentError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert isinstance(problem.code, Code) and problem.file == name
            vi, en = say(problem, "vi"), say(problem, "en")
            assert vi.startswith(f"[{problem.code.name}] {name}") and en.startswith(f"[{problem.code.name}] {name}")
            assert vi != en, "the message is in the reader's language"
            if problem.code is not Code.XLSFORM_INVALID:  # only pyxform's unmapped words stay as written
                assert "[row :" not in vi and "On the '" not in vi and "is not supported" not in vi
        return
    assert instrument.slug and instrument.pages

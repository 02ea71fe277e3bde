"""Codes from ``surveys`` and ``analysis`` become sentences in web/messages.py, one per code, in each
language; the core packages hold no sentence of their own."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import CalibrationError, SurveyDesign
from surveys import messages as msg
from surveys.errors import Code
from web.messages import SENTENCES, in_every_language, render
from web.research.weighting import calibrate

ROOT = Path(__file__).resolve().parents[2]
def _codes_in_source() -> set[str]:
    found = set()
    for path in [*ROOT.glob("surveys/*.py"), *ROOT.glob("analysis/*.py"), ROOT / "web/research/weighting.py",
                 ROOT / "web/research/raking.py"]:
        text = path.read_text(encoding="utf-8")
        prefix = {"loader.py": "instrument.why.", "scoring_spec.py": "scoring."}.get(path.name, "")
        found |= {prefix + name for name in re.findall(r'_why\(\s*"(\w+)"', text)} if prefix else set()
        found |= set(re.findall(r'Message\(\s*"([\w.]+)"', text))
        found |= {f"expression.{name}" for name in re.findall(r'ExpressionError\(\s*"(\w+)"', text)}
        found |= {f"instrument.why.attachment_{name}" for name in re.findall(r'AttachmentError\(\s*"(\w+)"', text)}
        found |= {f"instrument.why.{name}" for name in re.findall(r'self\.mismatch\(where, field, "(\w+)"', text)}
        found |= set(re.findall(r'"(calibration\.\w+)"', text))
    return found


def test_every_code_the_core_returns_has_a_sentence_and_every_sentence_a_code():
    codes = _codes_in_source() | {f"instrument.{c.name}" for c in Code}
    codes |= {v.code for v in vars(msg).values() if isinstance(v, msg.Message)}
    assert len(codes) > 90
    assert sorted(codes - set(SENTENCES)) == []
    assert sorted(set(SENTENCES) - codes) == []


#: the core modules that say what is wrong (others hold Vietnamese data: ward names, collation)
SPEAKING = ["answers", "messages", "errors", "expressions", "evaluator", "loader", "validate", "scoring",
            "scoring_spec", "xlsform_types"]


def test_the_core_packages_hold_no_sentence_in_vietnamese():
    vietnamese = re.compile("[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]")
    for path in [*(ROOT / "surveys" / f"{name}.py" for name in SPEAKING), *ROOT.glob("analysis/*.py")]:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                 if vietnamese.search(line) and not line.lstrip().startswith(("#", '"""')) and '"""' not in line]
        assert not [line for line in lines if re.search(r'"[^"]*' + vietnamese.pattern + '[^"]*"', line)], path


def test_a_message_reads_in_each_language_with_its_parameters(app):
    with app.test_request_context("/?lang=en"):
        assert render(msg.TOO_LONG(limit=2000)) == "The answer is too long (at most 2000 characters)."
        assert render(msg.TOO_LONG(limit=2000), "vi") == "Câu trả lời quá dài (tối đa 2000 ký tự)."
        row = msg.ROW_ERROR(row=2, detail={"vi": "Tuổi phải từ 15", "en": "Age must be 15 or more"})
        assert in_every_language(row) == {"vi": "Dòng 2: Tuổi phải từ 15", "en": "Row 2: Age must be 15 or more"}


@pytest.mark.parametrize("lang, expected", [
    ("en", "some sex and age-band groups of the census have no respondents (1:60+)."),
    ("vi", "một số nhóm giới tính và độ tuổi trong số liệu dân số không có người trả lời (1:60+)."),
])
def test_calibration_says_why_with_a_code_not_english_text(app, lang, expected):
    frame = pd.DataFrame({"ward_code": [1, 1, 2, 2], "weight": 1.0, "psu": ["a", "b", "c", "d"],
                          "stratum": "s", "sex": ["1", "2", "1", "2"], "age_band": ["16-29"] * 4})
    margins = pd.DataFrame({"ward_code": [1, 1, 2], "sex": ["1", "1", "2"], "age_band": ["16-29", "60+", "16-29"],
                            "count": [100, 50, 100]})
    weighted = calibrate(frame, margins)
    assert weighted.problem == msg.Message("calibration.empty_cells", {"cells": "1:60+"})
    with app.test_request_context(f"/?lang={lang}"):
        assert render(weighted.problem) == expected


def test_analysis_errors_carry_a_code_and_parameters():
    design = SurveyDesign(pd.DataFrame({"w": [1.0, 1.0, 1.0], "g": ["a", "b", "b"]}), weights="w")
    with pytest.raises(CalibrationError) as info:
        design.poststratify("g", {"a": 10})
    assert info.value.code == "calibration.no_population" and info.value.params == {"levels": "b"}

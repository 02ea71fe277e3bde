"""``date``: a calendar date, stored as ISO ``YYYY-MM-DD``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from surveys import messages as msg
from surveys.questions.base import Converted, QuestionType, Respondent, register
from surveys.schema import Question


@register
class Date(QuestionType):
    name = "date"
    exported = False
    editable = True
    input_type = "date"
    xlsform = ("date",)
    xlsform_type = "date"
    example = "2026-10-01"

    def convert(self, q: Question, value: Any) -> Converted:
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat(), None
        except ValueError:
            return None, msg.NOT_A_DATE

    def demo(self, q: Question, person: Respondent) -> Any:
        return (person.today - dt.timedelta(days=person.rng.randint(1, 300))).isoformat()

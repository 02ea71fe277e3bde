"""``time``: a time of day, stored as ``HH:MM`` (24-hour) in the survey's zone, as the person reads it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from surveys import messages as msg
from surveys.questions.base import Converted, QuestionType, Respondent, register
from surveys.schema import Question


@register
class Time(QuestionType):
    name = "time"
    xlsform = ("time",)
    xlsform_type = "time"
    example = "10:30"

    def convert(self, q: Question, value: Any) -> Converted:
        text = str(value).strip() if isinstance(value, str) else ""
        try:
            moment = dt.time.fromisoformat(text)
        except ValueError:
            return None, msg.NOT_A_TIME
        return moment.isoformat(timespec="minutes"), None

    def demo(self, q: Question, person: Respondent) -> Any:
        return f"{person.rng.randint(7, 20):02d}:{person.rng.choice((0, 15, 30, 45)):02d}"

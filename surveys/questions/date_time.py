"""``dateTime``: a date and a time of day, stored as ``YYYY-MM-DDTHH:MM`` in the survey's zone.

A moment with an offset (``…Z``, ``…+07:00``, as an ODK client sends it) is turned into the
survey zone's wall clock (Hà Nội by default, :mod:`surveys.clock`), the form that ``now()`` gives,
so rules compare it with ``now()`` and ``today()``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from surveys import clock
from surveys import messages as msg
from surveys.questions.base import Converted, QuestionType, Respondent, register
from surveys.schema import Question


@register
class DateTime(QuestionType):
    name = "dateTime"
    xlsform = ("dateTime", "datetime")
    xlsform_type = "dateTime"
    example = "2026-03-04T08:15"

    def convert(self, q: Question, value: Any) -> Converted:
        text = str(value).strip() if isinstance(value, str) else ""
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None, msg.NOT_A_DATETIME
        if "T" not in text and " " not in text:
            return None, msg.NOT_A_DATETIME
        return clock.wall_clock(moment).isoformat(timespec="minutes"), None

    def demo(self, q: Question, person: Respondent) -> Any:
        day = person.today - dt.timedelta(days=person.rng.randint(1, 300))
        return f"{day.isoformat()}T{person.rng.randint(7, 20):02d}:00"

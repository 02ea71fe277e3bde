"""What ``integer`` and ``decimal`` share: a number within ``minimum``/``maximum``."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from surveys import messages as msg
from surveys.messages import Message
from surveys.questions.base import Converted, QuestionType, Respondent
from surveys.schema import Question


def _plain(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


class Number(QuestionType):
    numeric = True
    editable = True
    indicator = "score"
    bad: ClassVar[Message] = msg.NOT_A_NUMBER

    def parse(self, value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        text = str(value).strip().replace(",", ".") if isinstance(value, str) else value
        try:
            number = float(text)
        except ValueError:
            return None
        return number if len(str(text)) <= 30 and math.isfinite(number) else None

    def whole(self, number: float) -> float | None:
        return number

    def convert(self, q: Question, value: Any) -> Converted:
        number = self.parse(value)
        if number is not None:
            number = self.whole(number)
        if number is None:
            return None, self.bad
        if q.minimum is not None and number < q.minimum:
            return None, msg.TOO_SMALL(limit=_plain(q.minimum))
        if q.maximum is not None and number > q.maximum:
            return None, msg.TOO_LARGE(limit=_plain(q.maximum))
        return number, None

    def demo(self, q: Question, person: Respondent) -> Any:
        low = q.minimum if q.minimum is not None else 0
        high = q.maximum if q.maximum is not None else low + 10
        return person.rng.randint(int(math.ceil(low)), int(math.floor(high)))

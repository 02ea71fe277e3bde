"""``integer``: a whole number."""

from __future__ import annotations

from surveys import messages as msg
from surveys.questions.base import register
from surveys.questions.numbers import Number


@register
class Integer(Number):
    name = "integer"
    xlsform = ("integer",)
    xlsform_type = "integer"
    example = 1
    whole_numbers = True
    bad = msg.NOT_AN_INTEGER

    def whole(self, number: float) -> float | None:
        return int(number) if number == int(number) else None

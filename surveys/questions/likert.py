"""``likert``: an ordered scale (XLSForm ``select_one`` with appearance ``likert``)."""

from __future__ import annotations

from typing import Any

from surveys.questions.base import Respondent, register
from surveys.questions.selects import SelectOne
from surveys.schema import Question


@register
class Likert(SelectOne):
    name = "likert"
    appearance = "likert"
    indicator = "categorical"
    straight_lining = True

    def demo(self, q: Question, person: Respondent) -> Any:
        codes = [c.code for c in q.choices]
        if not codes:
            return None
        position = round(person.p * (len(codes) - 1) + person.rng.gauss(0, 0.8))
        return codes[min(len(codes) - 1, max(0, position))]

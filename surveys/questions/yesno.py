"""``yesno``: the built-in list, codes "1" yes and "0" no."""

from __future__ import annotations

from typing import Any

from surveys.questions.base import Respondent, Writer, register
from surveys.questions.selects import SelectOne
from surveys.schema import Choice, Question

YES_NO = (
    Choice("1", {"vi": "Có", "en": "Yes"}),
    Choice("0", {"vi": "Không", "en": "No"}),
)


@register
class YesNo(SelectOne):
    name = "yesno"
    indicator = "share"
    straight_lining = True

    def builtin_choices(self) -> tuple[Choice, ...]:
        return YES_NO

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        row["type"] = "select_one " + writer.choice_list("khaosat_yesno", q.choices)
        row["khaosat_type"] = "yesno"
        writer.rows.append(row)

    def demo(self, q: Question, person: Respondent) -> Any:
        return "1" if person.rng.random() < person.p else "0"

"""``area``: a ward/commune code of the provinces the question covers.

A question covers ``extra["provinces"]`` (filled from the survey's ``area`` setting: several provinces or
``national``) or else its own ``extra["province"]`` (GSO code, default 1 = Hà Nội). When it covers more
than one province the person picks the province first, then the commune (see the respond template).
Exported as a ``select_one`` of the covered wards, so the form also works outside KhaoSat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from surveys import areas
from surveys import messages as msg
from surveys.questions.base import Converted, QuestionType, Respondent, Writer, register
from surveys.schema import Choice, Question


def province(q: Question) -> int:
    """The question's first province (the only one unless it covers several)."""
    return provinces(q)[0]


def provinces(q: Question) -> tuple[int, ...]:
    """Every province whose wards the question offers, in code order."""
    several = q.extra.get("provinces")
    if isinstance(several, list) and several:
        return tuple(int(c) for c in several)
    return (int(q.extra.get("province", areas.HANOI)),)


@register
class Area(QuestionType):
    name = "area"
    exported = False
    in_repeat = False
    ward_code = True
    editable = True

    def convert(self, q: Question, value: Any) -> Converted:
        try:
            code = int(str(value).strip())
        except ValueError:
            return None, msg.UNKNOWN_AREA
        return (code, None) if areas.province_of(code) in provinces(q) else (None, msg.UNKNOWN_AREA)

    def json(self, q: Question, question_json: Callable[[Question], dict[str, Any]]) -> dict[str, Any]:
        return {"province": province(q), "provinces": list(provinces(q))}

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        covered = provinces(q)
        wards = tuple(Choice(str(w.code), {lang: w.name for lang in writer.langs})
                      for code in covered for w in areas.wards(code))
        list_name = f"wards_{covered[0]}" if len(covered) == 1 else f"wards_{len(covered)}_provinces"
        row["type"] = "select_one " + writer.choice_list(list_name, wards)
        row["khaosat_type"] = "area"
        if len(covered) == 1:
            row["province"] = covered[0]
        writer.rows.append(row)

    def demo(self, q: Question, person: Respondent) -> Any:
        return person.ward

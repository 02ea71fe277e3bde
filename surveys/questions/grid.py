"""``grid``: Likert items sharing one scale (XLSForm ``table-list`` group).

``choices`` is the scale; ``items`` are the rows, each a ``likert`` question with its own name,
label and competence; answers are stored per item name, never under the grid's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from surveys.questions.base import QuestionType, Writer, register
from surveys.schema import Question


@register
class Grid(QuestionType):
    name = "grid"
    arithmetic = False
    own_value = False
    has_choices = True
    in_repeat = False

    def json(self, q: Question, question_json: Callable[[Question], dict[str, Any]]) -> dict[str, Any]:
        return {"items": [{"name": i.name, "label": i.label, "competence": i.competence} for i in q.items]}

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        row.update({"type": "begin_group", "appearance": "table-list", "required": None})
        writer.rows.append(row)
        scale = writer.choice_list(q.name, q.choices)
        for item in q.items:
            item_row = writer.common(item)
            item_row["type"] = f"select_one {scale}"
            item_row["required"] = "yes" if item.required else None
            writer.rows.append(item_row)
        writer.rows.append({"type": "end_group"})

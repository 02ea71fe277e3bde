"""``repeat``: a roster (e.g. household members); ``items`` are the questions asked for each row.

``extra["min_rows"]``/``extra["max_rows"]`` bound the number of rows. The value is a list of row
dicts; a form post may send ``<repeat>.<row>.<field>`` keys instead (row from 0). The rows are
checked by :func:`surveys.answers.check_row`, which knows the other answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from surveys.questions.base import QuestionType, Writer, register
from surveys.schema import Question


@register
class Repeat(QuestionType):
    name = "repeat"
    arithmetic = False
    in_repeat = False

    def json(self, q: Question, question_json: Callable[[Question], dict[str, Any]]) -> dict[str, Any]:
        return {"questions": [question_json(i) for i in q.items], "min_rows": q.extra.get("min_rows", 0),
                "max_rows": q.extra.get("max_rows")}

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        row["type"] = "begin_repeat"
        writer.rows.append(row)
        for item in q.items:
            writer.question(item)
        writer.rows.append({"type": "end_repeat"})

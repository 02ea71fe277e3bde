"""``knowledge``: a scored item, one choice (or several when ``extra["multiple"]``); ``correct`` holds the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from surveys.questions.base import Converted, Form, QuestionType, Writer, register
from surveys.questions.selects import SelectMany, SelectOne
from surveys.schema import Question

_ONE, _MANY = SelectOne(), SelectMany()


def _select(q: Question) -> SelectOne:
    return _MANY if q.extra.get("multiple") else _ONE


@register
class Knowledge(QuestionType):
    name = "knowledge"
    has_choices = True
    keyed = True
    editable = True

    def convert(self, q: Question, value: Any) -> Converted:
        return _select(q).convert(q, value)

    def form_value(self, q: Question, form: Form, name: str) -> Any:
        return _select(q).form_value(q, form, name)

    def json(self, q: Question, question_json: Callable[[Question], dict[str, Any]]) -> dict[str, Any]:
        multiple = bool(q.extra.get("multiple"))
        return {"multiple": multiple, "many": multiple}

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        row["correct"] = " ".join(q.correct)
        _select(q).export(q, row, writer)

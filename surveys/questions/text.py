"""``text``: free text, at most :data:`MAX_TEXT` characters."""

from __future__ import annotations

from typing import Any

from surveys import messages as msg
from surveys.questions.base import Converted, QuestionType, register
from surveys.schema import Question

MAX_TEXT = 2000


@register
class Text(QuestionType):
    name = "text"
    exported = False
    arithmetic = False
    editable = True
    xlsform = ("text",)
    xlsform_type = "text"
    example = "Cần thêm lớp học kỹ năng số ở nhà văn hóa"

    def convert(self, q: Question, value: Any) -> Converted:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return None, msg.REQUIRED
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            return None, msg.TOO_LONG(limit=MAX_TEXT)
        return text, None

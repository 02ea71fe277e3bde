"""``consent``: must be ticked to go on; value "1" (XLSForm ``acknowledge``)."""

from __future__ import annotations

from typing import Any

from surveys import messages as msg
from surveys.questions.base import Converted, QuestionType, Respondent, register
from surveys.schema import Question


@register
class Consent(QuestionType):
    name = "consent"
    exported = False
    arithmetic = False
    in_repeat = False
    required_message = msg.CONSENT
    xlsform = ("acknowledge",)
    xlsform_type = "acknowledge"
    example = "1"

    def convert(self, q: Question, value: Any) -> Converted:
        return ("1", None) if str(value).strip().lower() in ("1", "true", "yes", "on") else (None, None)

    def demo(self, q: Question, person: Respondent) -> Any:
        return "1"

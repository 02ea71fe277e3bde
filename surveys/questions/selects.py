"""What the choice types share: one code from the list, or several in list order."""

from __future__ import annotations

from typing import Any, ClassVar

from surveys import messages as msg
from surveys.questions.base import Converted, Form, QuestionType, Respondent, Writer
from surveys.schema import Question


def _is_code(x: Any) -> bool:
    return isinstance(x, str | int) and not isinstance(x, bool)


class SelectOne(QuestionType):
    """One code from the question's choices."""

    has_choices = True
    editable = True
    xlsform_type = "select_one"
    appearance: ClassVar[str | None] = None  #: written with the XLSForm row (e.g. likert)

    def convert(self, q: Question, value: Any) -> Converted:
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        code = str(value).strip() if _is_code(value) else None
        if code not in q.codes:
            return None, msg.NOT_A_CHOICE
        return code, None

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        row["type"] = f"{self.xlsform_type} {writer.choice_list(q.name, q.choices)}"
        if self.appearance:
            row["appearance"] = self.appearance
        writer.rows.append(row)

    def demo(self, q: Question, person: Respondent) -> Any:
        codes = [c.code for c in q.choices]
        return person.rng.choice(codes) if codes else None


class SelectMany(SelectOne):
    """Any of the question's choices; the value lists the chosen codes in choice order."""

    xlsform_type = "select_multiple"
    many_codes = True

    def form_value(self, q: Question, form: Form, name: str) -> Any:
        return form.getlist(name)

    def convert(self, q: Question, value: Any) -> Converted:
        items = value if isinstance(value, list) else [value]
        if not all(_is_code(x) and str(x) in q.codes for x in items):
            return None, msg.NOT_A_CHOICE
        chosen = {str(x) for x in items}
        return [c.code for c in q.choices if c.code in chosen], None

    def demo(self, q: Question, person: Respondent) -> Any:
        codes = [c.code for c in q.choices]
        if not codes:
            return None
        ordinary = [c for c in codes if c not in ("none", "cash_only", "other")] or codes
        rng = person.rng
        return [c for c in ordinary if rng.random() < 0.3] or [rng.choice(ordinary)]

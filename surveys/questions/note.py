"""``note``: text only, no answer."""

from surveys.questions.base import QuestionType, register


@register
class Note(QuestionType):
    name = "note"
    exported = False
    arithmetic = False
    takes_answer = False
    xlsform = ("note",)
    xlsform_type = "note"

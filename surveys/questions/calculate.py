"""``calculate``: hidden; its ``calculation`` gives the value."""

from surveys.questions.base import QuestionType, register


@register
class Calculate(QuestionType):
    name = "calculate"
    takes_answer = False
    numeric = True
    xlsform = ("calculate",)
    xlsform_type = "calculate"

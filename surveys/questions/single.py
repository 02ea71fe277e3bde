"""``single``: one choice from a list (XLSForm ``select_one``)."""

from surveys.questions.base import register
from surveys.questions.selects import SelectOne


@register
class Single(SelectOne):
    name = "single"
    indicator = "categorical"
    xlsform = ("select one",)

"""``multiple``: any choices from a list (XLSForm ``select_multiple``)."""

from surveys.questions.base import register
from surveys.questions.selects import SelectMany


@register
class Multiple(SelectMany):
    name = "multiple"
    arithmetic = False
    xlsform = ("select all that apply",)

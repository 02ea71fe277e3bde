"""``decimal``: any number (XLSForm ``decimal`` or ``range``)."""

from surveys.questions.base import register
from surveys.questions.numbers import Number


@register
class Decimal(Number):
    name = "decimal"
    xlsform = ("decimal", "range")
    xlsform_type = "decimal"
    example = 1

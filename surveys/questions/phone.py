"""``phone``: a Vietnamese phone number, kept with the contact details, never with the answers.

Spaces, dots, dashes and brackets are dropped and ``+84``/``84`` becomes ``0``; what remains must be
10 digits (mobiles) or 11 (landlines with a 02x area code). XLSForm ``phone number`` imports as this.
"""

from __future__ import annotations

import re
from typing import Any

from surveys import messages as msg
from surveys.questions.base import Converted, register
from surveys.questions.contact import ContactDetail
from surveys.schema import Question

SEPARATORS = re.compile(r"[\s.()\-]")
PHONE = re.compile(r"^0(\d{9}|2\d{9})$")


@register
class Phone(ContactDetail):
    name = "phone"
    field = "phone"
    xlsform = ("phone number",)
    example = "0912 345 678"

    def convert(self, q: Question, value: Any) -> Converted:
        text = SEPARATORS.sub("", str(value)) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        text = re.sub(r"^\+?84", "0", text)
        return (text, None) if PHONE.match(text) else (None, msg.NOT_A_PHONE)

"""``email``: an e-mail address, kept with the contact details, never with the answers.

XLSForm has no e-mail type: a ``text`` row with ``khaosat_type`` ``email`` imports as this.
"""

from __future__ import annotations

import re
from typing import Any

from surveys import messages as msg
from surveys.questions.base import Converted, register
from surveys.questions.contact import ContactDetail
from surveys.schema import Question

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


@register
class Email(ContactDetail):
    name = "email"
    field = "email"
    example = "lan.nguyen@example.vn"

    def convert(self, q: Question, value: Any) -> Converted:
        text = value.strip() if isinstance(value, str) else ""
        return (text.lower(), None) if len(text) <= 254 and EMAIL.match(text) else (None, msg.NOT_AN_EMAIL)

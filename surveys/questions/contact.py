"""What the contact-detail types (``phone``, ``email``) share: a checked text kept with the contact details
(``personal_details``), never with the answers or in exports, and written to an XLSForm as a ``text``
row whose ``khaosat_type`` names the type; and how an XLSForm ``text`` whose constraint is a phone-number
or e-mail ``regex()`` is recognised as one (:func:`recognised`)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from surveys import saferegex
from surveys.questions.base import QuestionType, Writer
from surveys.schema import Question


class ContactDetail(QuestionType):
    arithmetic = False
    exported = False
    in_repeat = False
    personal = True
    field: ClassVar[str]  #: its column in the contact details

    def personal_fields(self, value: Any) -> dict[str, Any]:
        return {self.field: value}

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        row["type"] = "text"
        row["khaosat_type"] = self.name
        writer.rows.append(row)


#: ``regex(., 'pattern')`` in an XLSForm constraint (ODK's and KoboToolbox's way to check a text)
REGEX_CALL = re.compile(r"""regex\(\s*\.\s*,\s*(['"])(.*?)\1\s*\)""", re.S)
#: Vietnamese phone numbers as people type them; a phone pattern accepts one of these
PHONES = ("0912345678", "0912 345 678", "+84912345678", "84912345678", "02438253456", "+84 24 3825 3456")
#: an e-mail pattern accepts one of these
EMAILS = ("lan.nguyen@example.vn", "an@example.com")
#: texts no contact pattern accepts: a word, a short number, a long one
NEITHER = ("abc", "123", "12345678901234567890", "Nguyễn Văn An")
#: a pattern accepting any ten digits (a tax code has ten too) is a phone only where the question says so
ANY_TEN_DIGITS = "1234567890"
PHONE_WORDS = re.compile(r"phone|mobile|\btel\b|telephone|whatsapp|zalo|điện thoại|di động|\bsđt\b|\bsdt\b|"
                         r"số đt|so dien thoai|dien thoai", re.I)


def _accepts(pattern: str, texts: tuple[str, ...]) -> bool:
    try:
        return any(saferegex.search(pattern, text) for text in texts)
    except saferegex.RegexError:
        return False


def recognised(constraint: str | None, words: str) -> str | None:
    """``"phone"`` or ``"email"`` when a text question's ``constraint`` is a ``regex()`` for one, as
    XLSForms in the wild write them (``regex(., '^0[0-9]{9}$')``, ``regex(., '^\\+?84[0-9]{9}$')``, an
    e-mail pattern with ``@``), else None. A pattern taking any ten digits counts as a phone only when
    ``words`` (the question's name and labels) speak of one: a tax code has ten digits as well."""
    for _quote, pattern in REGEX_CALL.findall(constraint or ""):
        if _accepts(pattern, NEITHER):
            continue
        if "@" in pattern and _accepts(pattern, EMAILS):
            return "email"
        if _accepts(pattern, PHONES) and (not _accepts(pattern, (ANY_TEN_DIGITS,)) or PHONE_WORDS.search(words)):
            return "phone"
    return None

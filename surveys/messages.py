"""Messages as codes with parameters, never as sentences.

``surveys`` (and ``analysis``, whose errors carry the same ``code`` and ``params``) say *what* is wrong
with a :class:`Message`; the web layer owns every sentence: it looks the code up in the gettext
catalogs (:mod:`web.messages`), one message per code with named placeholders, so a new language is a
catalog, not a code change. A parameter may itself be a :class:`Message` (a reason inside a
problem), or an author's text per language (a constraint message written in the instrument).

The constants below are the messages about answers, shown next to a question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    """A stable ``code`` (e.g. ``"answer.too_long"``) and the values its sentence names."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __call__(self, **params: Any) -> Message:
        """The same message with ``params`` filled: ``TOO_LONG(limit=2000)``."""
        return Message(self.code, {**self.params, **params})

    def __str__(self) -> str:  # for logs and scripts; people read the web layer's sentence
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.code}({args})" if args else self.code


def sheet_place(sheet: str, row: int | str | None = None, *, header: bool = False) -> Message:
    """Where in a workbook: a sheet, one of its rows, or its header row (the web layer words it)."""
    if header:
        return Message("place.header", {"sheet": sheet})
    return Message("place.sheet", {"sheet": sheet}) if row is None else Message("place.row", {"sheet": sheet, "row": row})


REQUIRED = Message("answer.required")
NOT_A_CHOICE = Message("answer.not_a_choice")
NOT_AN_INTEGER = Message("answer.not_an_integer")
NOT_A_NUMBER = Message("answer.not_a_number")
NOT_A_DATE = Message("answer.not_a_date")
NOT_A_TIME = Message("answer.not_a_time")
NOT_A_DATETIME = Message("answer.not_a_datetime")
NOT_A_PHONE = Message("answer.not_a_phone")
NOT_AN_EMAIL = Message("answer.not_an_email")
NOT_A_LOCATION = Message("answer.not_a_location")
TOO_LONG = Message("answer.too_long")  #: limit
TOO_SMALL = Message("answer.too_small")  #: limit
TOO_LARGE = Message("answer.too_large")  #: limit
CONSENT = Message("answer.consent")
CONSTRAINT = Message("answer.constraint")
UNKNOWN_AREA = Message("answer.unknown_area")
TOO_MANY_ROWS = Message("answer.too_many_rows")  #: limit
TOO_FEW_ROWS = Message("answer.too_few_rows")  #: limit
ROW_ERROR = Message("answer.row_error")  #: row, detail (a message, or the author's text per language)

"""Problems found while loading an instrument, as a catalogue of codes (the sentences live in the web layer).

Each problem names the file, the place (sheet/row or YAML path) and the field, so an author can fix
it; the CLI prints them and exits 2, the web admin and the API show them in the reader's language.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import Enum

from surveys.messages import Message


class Code(Enum):
    """Stable problem codes; the web layer has one sentence per code (``instrument.<CODE>``), whose
    placeholders are the problem's ``field``, ``value`` and ``detail``."""

    FILE_UNREADABLE = "FILE_UNREADABLE"
    NOT_A_MAPPING = "NOT_A_MAPPING"
    MISSING_FIELD = "MISSING_FIELD"
    BAD_VALUE = "BAD_VALUE"
    MISSING_TRANSLATION = "MISSING_TRANSLATION"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    DUPLICATE_NAME = "DUPLICATE_NAME"
    RESERVED_NAME = "RESERVED_NAME"
    BAD_NAME = "BAD_NAME"
    UNKNOWN_CHOICE_LIST = "UNKNOWN_CHOICE_LIST"
    NO_CHOICES = "NO_CHOICES"
    BAD_EXPRESSION = "BAD_EXPRESSION"
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    UNKNOWN_CHOICE_CODE = "UNKNOWN_CHOICE_CODE"
    CYCLE = "CYCLE"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    BAD_COMPETENCE = "BAD_COMPETENCE"
    BAD_CORRECT = "BAD_CORRECT"
    BAD_SCORING = "BAD_SCORING"
    MISSING_PAGE = "MISSING_PAGE"
    MISSING_SHEET = "MISSING_SHEET"
    UNSUPPORTED = "UNSUPPORTED"
    XLSFORM_INVALID = "XLSFORM_INVALID"
    TOO_LARGE = "TOO_LARGE"
    MISSING_ATTACHMENT = "MISSING_ATTACHMENT"
    BAD_ATTACHMENT = "BAD_ATTACHMENT"
    TOO_MANY_ROWS = "TOO_MANY_ROWS"
    TOO_DEEP = "TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_SLOW = "TOO_SLOW"


@dataclass(frozen=True)
class Problem:
    code: Code
    file: str
    where: str | Message = ""  #: "pages[2].questions[4]", or a place in a workbook (messages.sheet_place)
    field: str = ""
    value: str = ""
    detail: Message | str = ""  #: why, as a message (or a reader's own words, e.g. pyxform's)

    @property
    def message(self) -> Message:
        """What is wrong, as ``instrument.<CODE>`` with ``field``, ``value`` and ``detail``."""
        return Message(f"instrument.{self.code.name}", {"field": self.field, "value": self.value,
                                                        "detail": self.detail})

    @property
    def place(self) -> str:
        return ", ".join(str(part) for part in (self.file, self.where) if part)

    def __str__(self) -> str:
        return f"[{self.code.name}] {self.place}: {self.message}"


@dataclass
class InstrumentError(Exception):
    """Raised when an instrument cannot be loaded; carries every problem found."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def suggest(word: str, options: set[str] | frozenset[str]) -> Message | str:
    """"Did you mean …?" for a near miss, else ''."""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return Message("instrument.did_you_mean", {"name": close[0]}) if close else ""

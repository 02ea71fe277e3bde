"""What every question type provides; each type is one subclass in its own module of this package.

A type says how an answer is checked and cleaned (:meth:`QuestionType.convert`), what the offline
JSON adds (:meth:`~QuestionType.json`), how it maps to XLSForm both ways (``xlsform`` names it
imports from, :meth:`~QuestionType.export`), and what the synthetic demo answers
(:meth:`~QuestionType.demo`). The web page renders it with ``respond/questions/<name>.html`` and
the offline app with the widget of the same name in ``collect.js``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from surveys import messages as msg
from surveys.messages import Message
from surveys.schema import Choice, Question

#: the answer checks' result: the clean value (None when blank) and an error message, or None
Converted = tuple[Any, Message | None]  #: the clean value, or what is wrong with the answer


class Form(Protocol):
    """A posted form (werkzeug's MultiDict): one value or every value of a field."""

    def get(self, key: str) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...


class Writer(Protocol):
    """What :mod:`surveys.xlsform_export` offers a type that writes its own rows."""

    rows: list[dict[str, Any]]
    langs: tuple[str, ...]

    def common(self, q: Question) -> dict[str, Any]: ...

    def choice_list(self, name: str, choices: tuple[Choice, ...]) -> str: ...

    def question(self, q: Question) -> None: ...


@dataclass
class Respondent:
    """A synthetic person answering the demo: ``p`` is the chance of a "good" answer."""

    p: float
    ward: int
    rng: random.Random
    today: dt.date


class QuestionType:
    """A question type; subclasses override what differs from a plain typed answer.

    Code elsewhere asks a question's type (``kind(q.type).<trait>``) rather than naming types, so a new
    ordinary type is its module, its template and its widget alone. The containers ``grid`` and ``repeat``
    and the computed ``calculate`` are structural: the checking, loading and rendering walk them
    specially; every other type lives in its module alone.
    """

    name: ClassVar[str]
    takes_answer: ClassVar[bool] = True  #: False for notes and calculations
    has_choices: ClassVar[bool] = False  #: the question lists its choices (or a built-in list)
    in_repeat: ClassVar[bool] = True  #: may be a field of a repeat
    arithmetic: ClassVar[bool] = True  #: its value may take part in arithmetic and order comparisons (a code too)
    exported: ClassVar[bool] = True  #: a column of the microdata exports (free text, dates, areas are not)
    personal: ClassVar[bool] = False  #: personal data, kept apart from the answers (see :meth:`personal_fields`)
    own_value: ClassVar[bool] = True  #: False where answers live under other names (a grid's items)
    numeric: ClassVar[bool] = False  #: its value is a number: a numeric variable of the codebook
    whole_numbers: ClassVar[bool] = False  #: its numbers are whole (an integer variable in every export format)
    many_codes: ClassVar[bool] = False  #: its value lists several codes: exported as one 0/1 variable per choice
    keyed: ClassVar[bool] = False  #: scored right or wrong against the question's ``correct`` key
    ward_code: ClassVar[bool] = False  #: its value is a ward code, picked province then commune (web.area_lists)
    editable: ClassVar[bool] = False  #: a supervisor may correct the answer on the submission's edit form
    input_type: ClassVar[str] = "text"  #: the HTML input of that edit form when the type has no choices
    indicator: ClassVar[str] = ""  #: offered on the research page as a "share" (of yes), "categorical" or "score" (web.research.derived)
    straight_lining: ClassVar[bool] = False  #: a run of these answers may be straight-lined (web.quality)
    required_message: ClassVar[Message] = msg.REQUIRED  #: what a required question left blank says
    xlsform: ClassVar[tuple[str, ...]] = ()  #: pyxform type names imported as this type
    xlsform_type: ClassVar[str] = ""  #: the XLSForm type written on export
    example: ClassVar[Any] = None  #: a valid answer (documentation, tests); choice types take their first code

    @property
    def compares_codes(self) -> bool:
        """Its value is a choice code (or codes), which ``selected()`` and ``=`` compare."""
        return self.has_choices and self.own_value

    def form_value(self, q: Question, form: Form, name: str) -> Any:
        """The raw answer in a posted web form, under ``name``."""
        return form.get(name)

    def personal_fields(self, value: Any) -> dict[str, Any]:
        """A personal answer as the fields of the respondent's personal details (``phone``, ``latitude``...)."""
        return {}

    def builtin_choices(self) -> tuple[Choice, ...]:
        """Choices every question of this type has (the loader refuses others)."""
        return ()

    def convert(self, q: Question, value: Any) -> Converted:
        """The clean value of a non-blank answer, or an error message."""
        return None, None

    def json(self, q: Question, question_json: Callable[[Question], dict[str, Any]]) -> dict[str, Any]:
        """Fields the offline client needs beyond the common ones."""
        return {}

    def export(self, q: Question, row: dict[str, Any], writer: Writer) -> None:
        """Append this question's XLSForm rows (``row`` holds the common columns)."""
        row["type"] = self.xlsform_type
        writer.rows.append(row)

    def demo(self, q: Question, person: Respondent) -> Any:
        """A synthetic answer for the demo (None: left blank)."""
        return None


REGISTRY: dict[str, QuestionType] = {}


def register(cls: type[QuestionType]) -> type[QuestionType]:
    """Class decorator: add one instance of the type to :data:`REGISTRY` under its name."""
    REGISTRY[cls.name] = cls()
    return cls

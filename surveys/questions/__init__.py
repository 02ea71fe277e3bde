"""The question-type registry: every type is one module here, registered under its name.

Adding a type means a module in this package (see :class:`~surveys.questions.base.QuestionType`),
its template ``web/respond/templates/respond/questions/<name>.html`` and its widget in
``web/static/collect.js``; nothing else names types one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from surveys.questions import (  # noqa: F401  (each module registers its type)
    area,
    calculate,
    consent,
    date,
    date_time,
    decimal,
    email,
    geopoint,
    grid,
    integer,
    knowledge,
    likert,
    multiple,
    note,
    phone,
    repeat,
    single,
    text,
    time_of_day,
    yesno,
)
from surveys.questions.base import REGISTRY, Converted, QuestionType, Respondent
from surveys.schema import Instrument, Question

#: every type name, in the order the modules list them
QUESTION_TYPES = tuple(REGISTRY)
INPUT_TYPES = frozenset(n for n, t in REGISTRY.items() if t.takes_answer)
#: pyxform's type name -> ours
XLSFORM_TYPES = {theirs: n for n, t in REGISTRY.items() for theirs in t.xlsform}


def split_personal(instrument: Instrument, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``values`` without the personal answers (phone, e-mail, location), and those as personal-details fields."""
    personal_types = instrument.personal
    if not personal_types:
        return values, {}
    answers = {k: v for k, v in values.items() if k not in personal_types}
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if name in personal_types:
            fields.update(personal_types[name].personal_fields(value))
    return answers, fields


def personal_types(variables: Iterable[Question]) -> dict[str, QuestionType]:
    """The variables whose answers are personal details, by name, with their type (worked out when an
    instrument is built: :attr:`~surveys.schema.Instrument.personal`)."""
    return {q.name: kind(q.type) for q in variables if kind(q.type).personal}


def kind(name: str) -> QuestionType:
    """The type called ``name``; an unknown name (refused by the loader) behaves as a note."""
    return REGISTRY.get(name) or REGISTRY["note"]


__all__ = ["INPUT_TYPES", "QUESTION_TYPES", "REGISTRY", "XLSFORM_TYPES", "Converted", "QuestionType", "Respondent",
           "kind", "personal_types", "split_personal"]

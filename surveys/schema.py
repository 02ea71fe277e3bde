"""The instrument as data: pages, questions, choices and their texts in every language.

An instrument is immutable once loaded. Choice codes are what answers store; labels are looked up
here, in whichever language the person reads. The question types are :mod:`surveys.questions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from surveys.questions.base import QuestionType
    from surveys.scoring import Item

#: language code -> text, e.g. {"vi": "Có", "en": "Yes"}
Text = dict[str, str]

#: DigComp 2.2 competence ids, plus the device-basics layer 0.1-0.2 of UNESCO's DLGF
COMPETENCES = frozenset(
    ["0.1", "0.2", "1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "3.1", "3.2", "3.3", "3.4",
     "4.1", "4.2", "4.3", "4.4", "5.1", "5.2", "5.3", "5.4"]
)
#: DigComp 2.2 area of a competence id: "2.3" -> "2"
AREAS = ("0", "1", "2", "3", "4", "5")


@dataclass(frozen=True)
class Choice:
    code: str  #: stable code stored in answers
    label: Text
    #: other columns of the choice (e.g. ``province`` for a cascading select's ``choice_filter``)
    filters: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Question:
    name: str  #: stable variable name, also the column name in exports
    type: str
    label: Text
    hint: Text | None = None
    choices: tuple[Choice, ...] = ()
    required: bool = False
    relevant: str | None = None  #: expression; the question is asked only when it is true
    constraint: str | None = None  #: expression on ``.``, the answer itself
    constraint_message: Text | None = None
    calculation: str | None = None  #: for ``calculate`` questions
    minimum: float | None = None
    maximum: float | None = None
    competence: str | None = None  #: DigComp 2.2 competence id, e.g. "2.3"
    correct: tuple[str, ...] = ()  #: right code(s) of a ``knowledge`` item
    items: tuple[Question, ...] = ()  #: rows of a ``grid``; fields of a ``repeat``
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    #: the codes of its choices (every submitted answer is checked against them); set when it is built
    codes: frozenset[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", frozenset(c.code for c in self.choices))

    @property
    def variables(self) -> tuple[Question, ...]:
        """The questions whose answers are stored at the top level: a grid's items, else itself."""
        return self.items if self.type == "grid" else (self,)

    def choice_label(self, code: str, lang: str, default_lang: str = "vi") -> str:
        for choice in self.choices:
            if choice.code == code:
                return pick(choice.label, lang, default_lang)
        return code


@dataclass(frozen=True)
class Page:
    name: str
    title: Text
    questions: tuple[Question, ...]
    relevant: str | None = None


@dataclass(frozen=True)
class Instrument:
    slug: str
    version: int
    title: Text
    description: Text
    languages: tuple[str, ...]
    pages: tuple[Page, ...]
    scoring: dict[str, Any] = field(default_factory=dict, compare=False)
    #: the provinces the survey covers (its ``area`` setting), code order; empty: the installation's default
    area: tuple[int, ...] = ()
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: the variables kept apart as personal details (phone, e-mail, location), by name, with their type
    personal: Mapping[str, QuestionType] = field(kw_only=True, compare=False, repr=False)
    #: per scoring block, in order, the items it selects (``None`` for a block that is not a mapping)
    scoring_items: tuple[tuple[Item, ...] | None, ...] = field(kw_only=True, compare=False, repr=False)
    #: the pages' questions, in form order (set by __post_init__)
    questions: tuple[Question, ...] = field(init=False, compare=False, repr=False)
    #: every question with its own top-level answer, grid items included, in form order (set by __post_init__)
    variables: tuple[Question, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Everything derived from the instrument is worked out when it is built, here or (what the question
        types and scoring derive: ``personal``, ``scoring_items``) by the loader, its one maker. Requests on
        many threads share one instrument, so nothing is written to it afterwards: no lazily filled cache (a
        ``cached_property`` or a memo dict is written by whichever request comes first, and a memo keyed by
        what requests ask grows without bound). It takes well under a millisecond, against the tens of
        milliseconds of reading the file."""
        questions = tuple(q for page in self.pages for q in page.questions)
        object.__setattr__(self, "questions", questions)
        object.__setattr__(self, "variables", variables_of(questions))

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def question(self, name: str) -> Question:
        """The question, grid item or repeat field called ``name``."""
        for q in self.questions:
            if q.name == name:
                return q
            for item in q.items:
                if item.name == name:
                    return item
        raise KeyError(name)

    def text(self, text: Text | None, lang: str) -> str:
        return pick(text, lang, self.default_language)


def variables_of(questions: tuple[Question, ...]) -> tuple[Question, ...]:
    """The questions' variables (a grid's items, else the question), in order."""
    return tuple(v for q in questions for v in q.variables)


def pick(text: Text | None, lang: str, default_lang: str = "vi") -> str:
    """The text in ``lang``, else in the default language, else empty."""
    if not text:
        return ""
    return text.get(lang) or text.get(default_lang) or next(iter(text.values()), "")

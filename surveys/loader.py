"""Load an instrument from YAML (or its stored plain-data form) into :class:`surveys.schema.Instrument`.

Every problem in the file is collected before failing, so the author sees them all at once; each
names the file, the YAML path (``pages[2].questions[4]``) and the field. Cross-question checks
(expressions, references, cycles, scoring) live in :mod:`surveys.validate`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from surveys import areas
from surveys.errors import Code, InstrumentError, Problem, suggest
from surveys.limits import Deadline, Limits, check_size, safe_yaml
from surveys.messages import Message
from surveys.questions import REGISTRY, kind, personal_types
from surveys.schema import Choice, Instrument, Page, Question, Text, variables_of
from surveys.scoring import plan
from surveys.slugs import SLUG_RE
from surveys.validate import validate

#: an XLSForm name: letters, digits, '_' and '-', starting with a letter or '_' (the period XLSForm also
#: allows is refused: it joins a repeat's row and field in form fields, ``members.0.age``)
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_FILE_BYTES = 2_000_000
#: texts use straight quotes, as pyxform makes them, so that an XLSForm round trip is exact
STRAIGHT_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
QUESTION_FIELDS = frozenset({
    "name", "type", "label", "hint", "choices", "required", "relevant", "constraint", "constraint_message",
    "calculation", "min", "max", "competence", "correct", "items", "questions",
    # kept in Question.extra for the renderer and analysis
    "province", "provinces", "multiple", "min_rows", "max_rows", "appearance", "choice_filter", "level", "note",
    "scale", "other",
})
PAGE_FIELDS = frozenset({"name", "title", "questions", "relevant"})
TOP_FIELDS = frozenset({
    "slug", "version", "languages", "title", "description", "choice_lists", "pages", "scoring", "settings",
    "area",
})
_CORE = {"name", "type", "label", "hint", "choices", "required", "relevant", "constraint", "constraint_message",
         "calculation", "min", "max", "competence", "correct", "items", "questions"}


def load_yaml(path: str | Path, name: str | None = None, limits: Limits | None = None) -> Instrument:
    """Read and check a YAML instrument; raise :class:`InstrumentError` with every problem found.

    ``name`` is the file's name as its author knows it (messages name it); ``limits`` caps its size,
    aliases and nesting (:mod:`surveys.limits`).
    """
    path = Path(path)
    name = name or path.name
    limits = limits or Limits(max_bytes=MAX_FILE_BYTES)
    deadline = Deadline(name, limits.seconds)
    try:
        check_size(path, name, limits)
        data = safe_yaml(path.read_text(encoding="utf-8"), name, limits, deadline)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise InstrumentError([Problem(Code.FILE_UNREADABLE, name, value=_short(exc))]) from None
    instrument = from_dict(data, name)
    deadline.check()
    return instrument


def from_dict(data: Any, file: str = "<instrument>", locate: Callable[[str], str] | None = None) -> Instrument:
    """Build an instrument from its plain-data form (the YAML document, or stored JSON).

    ``locate`` turns a YAML path into the author's place (an XLSForm sheet and row).
    """
    builder = _Builder(file)
    instrument = builder.instrument(data)
    if instrument is not None and not builder.problems:
        builder.problems.extend(validate(instrument, file))
    if builder.problems:
        if locate is not None:
            builder.problems = [_relocate(p, locate) for p in builder.problems]
        raise InstrumentError(builder.problems)
    assert instrument is not None
    return instrument


def _relocate(problem: Problem, locate: Callable[[str], Any]) -> Problem:
    """The problem with its place in the loaded instrument (a path) given as a place in the source file."""
    if not isinstance(problem.where, str):
        return problem
    return replace(problem, where=locate(problem.where))


def plain(data: Any) -> Any:
    """A JSON-serialisable copy of YAML data: dates as ISO text, keys as text, tuples as lists."""
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [plain(v) for v in data]
    if isinstance(data, dt.date | dt.datetime):
        return data.isoformat()
    if data is None or isinstance(data, str | int | float | bool):
        return data
    return str(data)


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ("vi", "en")
        self.choice_lists: dict[str, tuple[Choice, ...]] = {}

    def problem(self, code: Code, where: str = "", field: str = "", value: Any = "", detail: Any = "") -> None:
        self.problems.append(Problem(code, self.file, where, field, str(value)[:200], detail))

    def unknown_fields(self, data: dict, allowed: frozenset[str], where: str) -> None:
        for key in data:
            if str(key) not in allowed and not str(key).startswith("x_"):
                self.problem(Code.UNKNOWN_FIELD, where, str(key), detail=suggest(str(key), allowed))

    def instrument(self, data: Any) -> Instrument | None:
        if not isinstance(data, dict):
            self.problem(Code.NOT_A_MAPPING)
            return None
        data = plain(data)
        self.unknown_fields(data, TOP_FIELDS, "")
        slug, version = self.slug(data.get("slug")), self.version(data.get("version", 1))
        self.declared_languages(data.get("languages", ["vi", "en"]))
        title = self.text(data.get("title"), "", "title", required=True)
        description = self.text(data.get("description"), "", "description", required=False)
        self.named_choice_lists(data.get("choice_lists") or {})
        pages_data = self.page_list(data.get("pages"))
        area = self.area(data.get("area"), pages_data)
        pages = tuple(self.page(p, f"pages[{i}]") for i, p in enumerate(pages_data))
        scoring = self.mapping(data.get("scoring") or {}, "scoring")
        variables = variables_of(tuple(q for page in pages for q in page.questions))
        return Instrument(
            slug=slug,
            version=version,
            title=title,
            description=description,
            languages=self.languages,
            pages=pages,
            scoring=scoring,
            area=area,
            source=data,
            personal=MappingProxyType(personal_types(variables)),
            scoring_items=plan(variables, scoring),
        )

    def slug(self, slug: Any) -> str:
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            self.problem(Code.MISSING_FIELD if slug is None else Code.BAD_VALUE, field="slug", value=slug)
        return str(slug)

    def version(self, version: Any) -> int:
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem(Code.BAD_VALUE, field="version", value=version)
            return 1
        return version

    def declared_languages(self, languages: Any) -> None:
        """The instrument's languages, kept for the texts that follow when they are valid."""
        if not (isinstance(languages, list) and languages and all(isinstance(x, str) and LANG_RE.match(x)
                                                                  for x in languages)):
            self.problem(Code.BAD_VALUE, field="languages", value=languages)
        elif len(set(languages)) != len(languages):
            self.problem(Code.DUPLICATE_NAME, field="languages", value=languages)
        else:
            self.languages = tuple(languages)

    def mapping(self, value: Any, field: str) -> dict:
        if not isinstance(value, dict):
            self.problem(Code.BAD_VALUE, field=field, value=type(value).__name__)
            return {}
        return value

    def named_choice_lists(self, lists: Any) -> None:
        """``choice_lists``: the lists that questions name in their ``choices``."""
        for name, items in self.mapping(lists, "choice_lists").items():
            self.choice_lists[str(name)] = self.choices(items, f"choice_lists.{name}")

    def page_list(self, pages_data: Any) -> list:
        """``pages``: the list of pages' data (none, with a problem, when it is not a non-empty list)."""
        if not isinstance(pages_data, list) or not pages_data:
            self.problem(Code.MISSING_FIELD, field="pages")
            return []
        return pages_data

    def area(self, setting: Any, pages: list) -> tuple[int, ...]:
        """The provinces of the ``area`` setting (none said: the installation's default), given to every
        area question (the survey's setting wins over a question's own ``province``)."""
        if setting is None:
            return ()
        codes = areas.coverage(setting)
        if codes is None:
            self.problem(Code.BAD_VALUE, field="area", value=setting)
            return ()
        for page in pages:
            for q in (page.get("questions") or []) if isinstance(page, dict) else []:
                if isinstance(q, dict) and q.get("type") == "area":
                    q["provinces"] = list(codes)
        return codes

    def text(self, value: Any, where: str, field: str, required: bool = True) -> Text:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.problem(Code.MISSING_TRANSLATION, where, field, value=",".join(self.languages))
            return {}
        out: Text = {}
        for lang in self.languages:
            text = value.get(lang)
            if not isinstance(text, str | int | float) or isinstance(text, bool) or not str(text).strip():
                self.problem(Code.MISSING_TRANSLATION, where, field, value=lang)
            else:
                out[lang] = str(text).strip().translate(STRAIGHT_QUOTES)
        for lang in value:
            if lang not in self.languages:
                self.problem(Code.BAD_VALUE, where, field, value=lang,
                             detail=_why("not_a_declared_language"))
        return out

    def choices(self, items: Any, where: str) -> tuple[Choice, ...]:
        if not isinstance(items, list) or len(items) < 2:
            self.problem(Code.NO_CHOICES, where, "choices")
            return ()
        out = []
        for i, item in enumerate(items):
            here = f"{where}[{i}]"
            if not isinstance(item, dict) or item.get("code") in (None, ""):
                self.problem(Code.MISSING_FIELD, here, "code")
                continue
            code = item["code"]
            if isinstance(code, bool) or not isinstance(code, str | int) or not re.match(r"^[\w.-]{1,64}$", str(code)):
                self.problem(Code.BAD_VALUE, here, "code", code)
                continue
            filters = {str(k): str(v) for k, v in item.items() if k not in ("code", "label")}
            out.append(Choice(str(code), self.text(item.get("label"), here, "label"), filters))
        seen: set[str] = set()
        for i, choice in enumerate(out):
            if choice.code in seen:
                self.problem(Code.DUPLICATE_NAME, f"{where}[{i}]", "code", choice.code)
            seen.add(choice.code)
        return tuple(out)

    def page(self, data: Any, where: str) -> Page:
        if not isinstance(data, dict):
            self.problem(Code.NOT_A_MAPPING, where)
            return Page("", {}, ())
        self.unknown_fields(data, PAGE_FIELDS, where)
        name = self.name(data.get("name"), where)
        return Page(
            name=name,
            title=self.text(data.get("title"), where, "title"),
            questions=self.questions(data.get("questions"), where, "questions"),
            relevant=self.expr(data.get("relevant"), where, "relevant"),
        )

    def questions(self, items: Any, where: str, field: str, inside: str = "") -> tuple[Question, ...]:
        if not isinstance(items, list) or not items:
            self.problem(Code.MISSING_FIELD, where, field)
            return ()
        return tuple(self.question(q, f"{where}.{field}[{i}]", inside) for i, q in enumerate(items))

    def name(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not NAME_RE.match(value):
            self.problem(Code.MISSING_FIELD if value is None else Code.BAD_NAME, where, "name", value)
            return str(value)
        return value

    def expr(self, value: Any, where: str, field: str) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.problem(Code.BAD_VALUE, where, field, value)
            return None
        return str(value)

    def question(self, data: Any, where: str, inside: str = "") -> Question:
        if not isinstance(data, dict):
            self.problem(Code.NOT_A_MAPPING, where)
            return Question("", "note", {})
        self.unknown_fields(data, QUESTION_FIELDS, where)
        name = self.name(data.get("name"), where)
        qtype = data.get("type")
        self.check_type(qtype, where, inside)
        choices = () if inside == "grid" else self.question_choices(data, qtype, where)
        items = self.items(data, qtype, choices, where)
        extra = {k: v for k, v in data.items() if k not in _CORE}
        if qtype == "grid":
            extra["items"] = [{"name": q.name, "label": q.label} for q in items]
        return Question(
            name=name,
            type=str(qtype),
            label=self.text(data.get("label"), where, "label", required=qtype != "calculate"),
            hint=self.text(data.get("hint"), where, "hint", required=False) or None,
            choices=choices,
            required=bool(data.get("required", False)),
            relevant=self.expr(data.get("relevant"), where, "relevant"),
            constraint=self.expr(data.get("constraint"), where, "constraint"),
            constraint_message=self.text(data.get("constraint_message"), where, "constraint_message", False)
            or None,
            calculation=self.calculation(data, qtype, where),
            minimum=self.number(data.get("min"), where, "min"),
            maximum=self.number(data.get("max"), where, "max"),
            competence=_competence(data),
            correct=self.correct(data, qtype, choices, where),
            items=items,
            extra=extra,
        )

    def check_type(self, qtype: Any, where: str, inside: str) -> None:
        """A known question type, and one allowed where it stands (a grid holds likert items)."""
        if not isinstance(qtype, str) or qtype not in REGISTRY:
            self.problem(Code.UNKNOWN_TYPE, where, "type", qtype, suggest(str(qtype), set(REGISTRY)))
        elif inside == "grid" and qtype != "likert":
            self.problem(Code.BAD_VALUE, where, "type", qtype, _why("grid_items_are_likert"))
        elif inside == "repeat" and not kind(qtype).in_repeat:
            self.problem(Code.UNSUPPORTED, where, "type", qtype, _why("not_inside_a_repeat"))

    def items(self, data: dict, qtype: Any, choices: tuple[Choice, ...], where: str) -> tuple[Question, ...]:
        """A grid's likert items (sharing its choices, required and competence) or a repeat's questions."""
        if qtype == "repeat":
            return self.questions(data.get("questions"), where, "questions", inside="repeat")
        if qtype != "grid":
            return ()
        rows = [dict(row, type="likert") if isinstance(row, dict) else row for row in data.get("items") or []]
        return tuple(Question(q.name, q.type, q.label, q.hint, choices, q.required or bool(data.get("required")),
                              q.relevant, competence=q.competence or _competence(data), extra=q.extra)
                     for q in self.questions(rows, where, "items", inside="grid"))

    def question_choices(self, data: dict, qtype: Any, where: str) -> tuple[Choice, ...]:
        builtin = kind(str(qtype)).builtin_choices()
        if builtin:
            return builtin
        if not kind(str(qtype)).has_choices:
            if data.get("choices") is not None:
                self.problem(Code.BAD_VALUE, where, "choices", qtype, _why("takes_no_choices"))
            return ()
        raw = data.get("choices")
        if isinstance(raw, str):
            if raw not in self.choice_lists:
                self.problem(Code.UNKNOWN_CHOICE_LIST, where, "choices", raw, suggest(raw, set(self.choice_lists)))
            return self.choice_lists.get(raw, ())
        return self.choices(raw, f"{where}.choices")

    def calculation(self, data: dict, qtype: Any, where: str) -> str | None:
        calc = self.expr(data.get("calculation"), where, "calculation")
        if qtype == "calculate" and calc is None:
            self.problem(Code.MISSING_FIELD, where, "calculation")
        return calc

    def correct(self, data: dict, qtype: Any, choices: tuple[Choice, ...], where: str) -> tuple[str, ...]:
        raw = data.get("correct")
        if qtype != "knowledge":
            if raw is not None:
                self.problem(Code.BAD_VALUE, where, "correct", raw, _why("correct_only_for_knowledge"))
            return ()
        codes = [str(c) for c in (raw if isinstance(raw, list) else [raw] if raw is not None else [])]
        if not codes:
            self.problem(Code.MISSING_FIELD, where, "correct")
        known = {c.code for c in choices}
        for code in codes:
            if choices and code not in known:
                self.problem(Code.BAD_CORRECT, where, "correct", code)
        if len(codes) > 1 and not data.get("multiple"):
            self.problem(Code.BAD_VALUE, where, "correct", codes, _why("several_correct_need_multiple"))
        return tuple(codes)

    def number(self, value: Any, where: str, field: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(Code.BAD_VALUE, where, field, value)
            return None
        return float(value)


def _why(code: str, **params: Any) -> Message:
    """The reason given with a problem: ``instrument.why.<code>``."""
    return Message(f"instrument.why.{code}", params)


def _competence(data: dict) -> str | None:
    value = data.get("competence")
    return None if value is None else str(value)

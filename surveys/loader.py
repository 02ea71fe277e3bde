"""Load an instrument from YAML (or its stored plain-data form) into :class:`surveys.schema.Instrument`.

Every problem in the file is collected before failing, so the author sees them all at once; each
names the file, the YAML path (``pages[2].questions[4]``) and the field. Cross-question checks
(expressions, references, cycles, scoring) live in :mod:`surveys.validate`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from surveys.errors import Code, InstrumentError, Problem
from surveys.schema import CHOICE_TYPES, QUESTION_TYPES, Choice, Instrument, Page, Question, Text

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,63}$")
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_FILE_BYTES = 2_000_000
#: texts use straight quotes, as pyxform makes them, so that an XLSForm round trip is exact
STRAIGHT_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
YES_NO = (
    Choice("1", {"vi": "Có", "en": "Yes"}),
    Choice("0", {"vi": "Không", "en": "No"}),
)
QUESTION_FIELDS = frozenset({
    "name", "type", "label", "hint", "choices", "required", "relevant", "constraint", "constraint_message",
    "calculation", "min", "max", "competence", "correct", "items", "questions",
    # kept in Question.extra for the renderer and analysis
    "province", "multiple", "min_rows", "max_rows", "appearance", "choice_filter", "level", "note",
    "scale", "other",
})
PAGE_FIELDS = frozenset({"name", "title", "questions", "relevant"})
TOP_FIELDS = frozenset({
    "slug", "version", "languages", "title", "description", "choice_lists", "pages", "scoring", "settings",
})
_CORE = {"name", "type", "label", "hint", "choices", "required", "relevant", "constraint", "constraint_message",
         "calculation", "min", "max", "competence", "correct", "items", "questions"}


def load_yaml(path: str | Path) -> Instrument:
    """Read and check a YAML instrument; raise :class:`InstrumentError` with every problem found."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InstrumentError([Problem(Code.TOO_LARGE, path.name, value=f"> {MAX_FILE_BYTES} bytes")])
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise InstrumentError([Problem(Code.FILE_UNREADABLE, path.name, value=_short(exc))]) from None
    return from_dict(data, path.name)


def from_dict(data: Any, file: str = "<instrument>", locate: Callable[[str], str] | None = None) -> Instrument:
    """Build an instrument from its plain-data form (the YAML document, or stored JSON).

    ``locate`` turns a YAML path into the author's place (an XLSForm sheet and row).
    """
    from surveys.validate import validate

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


def _relocate(problem: Problem, locate: Callable[[str], str]) -> Problem:
    from dataclasses import replace

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


def suggest(word: str, options: set[str] | frozenset[str]) -> str:
    """' Did you mean …?' for a near miss, else ''."""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


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
        slug = data.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            self.problem(Code.MISSING_FIELD if slug is None else Code.BAD_VALUE, field="slug", value=slug)
        version = data.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem(Code.BAD_VALUE, field="version", value=version)
            version = 1
        languages = data.get("languages", ["vi", "en"])
        if not (isinstance(languages, list) and languages and all(isinstance(x, str) and LANG_RE.match(x)
                                                                  for x in languages)):
            self.problem(Code.BAD_VALUE, field="languages", value=languages)
        elif len(set(languages)) != len(languages):
            self.problem(Code.DUPLICATE_NAME, field="languages", value=languages)
        else:
            self.languages = tuple(languages)
        title = self.text(data.get("title"), "", "title", required=True)
        description = self.text(data.get("description"), "", "description", required=False)
        lists = data.get("choice_lists") or {}
        if not isinstance(lists, dict):
            self.problem(Code.BAD_VALUE, field="choice_lists", value=type(lists).__name__)
            lists = {}
        for name, items in lists.items():
            self.choice_lists[str(name)] = self.choices(items, f"choice_lists.{name}")
        pages_data = data.get("pages")
        if not isinstance(pages_data, list) or not pages_data:
            self.problem(Code.MISSING_FIELD, field="pages")
            pages_data = []
        pages = tuple(self.page(p, f"pages[{i}]") for i, p in enumerate(pages_data))
        scoring = data.get("scoring") or {}
        if not isinstance(scoring, dict):
            self.problem(Code.BAD_VALUE, field="scoring", value=type(scoring).__name__)
            scoring = {}
        return Instrument(
            slug=str(slug),
            version=version,
            title=title,
            description=description,
            languages=self.languages,
            pages=pages,
            scoring=scoring,
            source=data,
        )

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
                             detail=_why("It is not a language listed in 'languages' (an unquoted comma in a"
                                         " {…} mapping splits the text: quote it)",
                                         "Đây không phải ngôn ngữ khai báo trong 'languages' (dấu phẩy không"
                                         " nằm trong ngoặc kép làm tách đoạn văn bản: hãy đặt trong ngoặc kép)"))
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
        if qtype not in QUESTION_TYPES:
            self.problem(Code.UNKNOWN_TYPE, where, "type", qtype, suggest(str(qtype), set(QUESTION_TYPES)))
        elif inside == "grid" and qtype != "likert":
            self.problem(Code.BAD_VALUE, where, "type", qtype, _why("grid items are likert", "các dòng của bảng là thang Likert"))
        elif inside == "repeat" and qtype in ("repeat", "grid", "consent", "area"):
            self.problem(Code.UNSUPPORTED, where, "type", qtype, _why("not inside a repeat", "không dùng trong nhóm lặp"))
        choices = () if inside == "grid" else self.question_choices(data, qtype, where)
        items: tuple[Question, ...] = ()
        if qtype == "grid":
            rows = [dict(row, type="likert") if isinstance(row, dict) else row for row in data.get("items") or []]
            items = self.questions(rows, where, "items", inside="grid")
            items = tuple(Question(q.name, q.type, q.label, q.hint, choices, q.required or bool(data.get("required")),
                                   q.relevant, competence=q.competence or _competence(data), extra=q.extra)
                          for q in items)
        elif qtype == "repeat":
            items = self.questions(data.get("questions"), where, "questions", inside="repeat")
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

    def question_choices(self, data: dict, qtype: Any, where: str) -> tuple[Choice, ...]:
        if qtype == "yesno":
            return YES_NO
        if qtype not in CHOICE_TYPES:
            if data.get("choices") is not None:
                self.problem(Code.BAD_VALUE, where, "choices", qtype, _why("this type takes no choices", "loại này không có lựa chọn"))
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
                self.problem(Code.BAD_VALUE, where, "correct", raw, _why("only knowledge items have a correct answer",
                                                                      "chỉ câu hỏi kiến thức mới có đáp án"))
            return ()
        codes = [str(c) for c in (raw if isinstance(raw, list) else [raw] if raw is not None else [])]
        if not codes:
            self.problem(Code.MISSING_FIELD, where, "correct")
        known = {c.code for c in choices}
        for code in codes:
            if choices and code not in known:
                self.problem(Code.BAD_CORRECT, where, "correct", code)
        if len(codes) > 1 and not data.get("multiple"):
            self.problem(Code.BAD_VALUE, where, "correct", codes, _why("several correct codes need 'multiple: true'",
                                                                  "nhiều đáp án đúng cần 'multiple: true'"))
        return tuple(codes)

    def number(self, value: Any, where: str, field: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(Code.BAD_VALUE, where, field, value)
            return None
        return float(value)


def _why(en: str, vi: str) -> dict[str, str]:
    return {"en": " " + en + ".", "vi": " " + vi + "."}


def _competence(data: dict) -> str | None:
    value = data.get("competence")
    return None if value is None else str(value)

"""Import an XLSForm (as KoboToolbox and ODK write them) into an instrument.

The workbook is parsed by pyxform (``get_xlsform`` + ``workbook_to_json``), never by our own reader;
its JSON tree is then mapped onto our plain-data instrument (the YAML shape) and loaded with
:func:`surveys.loader.from_dict`, so every check of the YAML loader applies, and every problem is
reported at its sheet and row. Languages come from ``label::Vietnamese (vi)`` style columns (the
older ``label:English`` too); untranslated columns are taken to be in the settings'
``default_language``, else English. Top-level groups become pages, nested groups are flattened
into their page (relevance combined), ``table-list`` groups become grids, repeats become rosters.
Media, GPS, barcodes and similar types are refused with a clear message; metadata fields
(start, end, deviceid, ...) are skipped with a warning.
"""

from __future__ import annotations

import json
import re
import warnings as pywarnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from surveys.errors import Code, InstrumentError, Problem
from surveys.limits import Deadline, Limits, check_depth, scan_workbook
from surveys.loader import from_dict
from surveys.messages import Message, sheet_place
from surveys.schema import Instrument
from surveys.slugs import slug_from
from surveys.xlsform_types import convert_question

MAX_XLSFORM_BYTES = 5_000_000
LANGUAGE_CODES = {
    "vietnamese": "vi", "tiếng việt": "vi", "english": "en", "chinese": "zh", "swahili": "sw",
    "french": "fr", "spanish": "es", "portuguese": "pt", "arabic": "ar", "khmer": "km", "hmong": "hmn",
    "thai": "th", "lao": "lo", "default": "",
}
OUR_COLUMNS = ("competence", "correct", "province", "multiple", "min_rows", "max_rows", "min", "max",
               "khaosat_type")


@dataclass
class Imported:
    """The plain-data instrument, where each part came from, and warnings for the author."""

    data: dict[str, Any]
    places: dict[str, Message] = field(default_factory=dict)
    warnings: list[Message | str] = field(default_factory=list)  #: ours as codes, pyxform's in its words


def import_xlsform(path: str | Path, name: str | None = None, limits: Limits | None = None,
                   attachments: dict[str, Path] | None = None) -> Instrument:
    """Read an XLSForm and load it; raise :class:`InstrumentError` naming file, sheet, row and column.

    ``name`` is the file's name as the author knows it (default: the path's); ``limits`` caps it;
    ``attachments`` maps a file name the form refers to (``select_one_from_file wards.csv``) to its path.
    """
    name = name or Path(path).name
    limits = limits or Limits(max_bytes=MAX_XLSFORM_BYTES)
    deadline = Deadline(name, limits.seconds)
    imported = read_xlsform(path, name, limits, deadline, attachments)
    instrument = from_dict(imported.data, name, locate=_locator(imported.places))
    deadline.check()
    return instrument


def read_xlsform(path: str | Path, name: str | None = None, limits: Limits | None = None,
                 deadline: Deadline | None = None, attachments: dict[str, Path] | None = None) -> Imported:
    """The plain-data instrument of an XLSForm, before the loader's checks."""
    path = Path(path)
    name = name or path.name
    limits = limits or Limits(max_bytes=MAX_XLSFORM_BYTES)
    deadline = deadline or Deadline(name, limits.seconds)
    try:
        scan_workbook(path, name, limits, deadline)
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")  # openpyxl: "Unknown extension is not supported"
            book = get_xlsform(str(path))
            deadline.check()
            warn: list[str] = []
            fallback = slug_from("", Path(name).stem).replace("-", "_")
            tree = workbook_to_json(book, fallback_form_name=fallback, warnings=warn)
            deadline.check()
        check_depth(tree.get("children") or [], name, limits)
    except InstrumentError:
        raise
    except (PyXFormError, OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise InstrumentError([pyxform_problem(exc, name)]) from None
    rows = {r.get("name"): i + 2 for i, r in enumerate(book.survey or []) if r.get("name")}
    choice_rows = {(r.get("list_name"), r.get("name")): i + 2 for i, r in enumerate(book.choices or [])}
    mapper = Mapper(name, tree, rows, choice_rows, Path(name).stem)
    mapper.attachments = attachments or {}
    settings = (book.settings or [{}])[0] if isinstance(book.settings, list) else {}
    mapper.titled = bool(str(settings.get("form_title") or settings.get("title") or "").strip())
    mapper.warnings.extend(warn)
    for header in (book.survey_header or []) + (book.choices_header or []):
        mapper.header_languages(header)
    data = mapper.instrument()
    if mapper.problems:
        raise InstrumentError(mapper.problems)
    return Imported(data, mapper.places, mapper.warnings)


#: pyxform's messages (by their words) and the problem each one is: (pattern, code, field); the
#: pattern's group is the value our message names
PYXFORM_CODES: tuple[tuple[str, Code, str], ...] = (
    (r"duplicate column header: ?'?([^'.]+)", Code.DUPLICATE_NAME, "header"),
    (r"unknown question type '([^']+)'", Code.UNKNOWN_TYPE, "type"),
    (r"list name not in choices sheet: ?'?([^'\s]+)", Code.UNKNOWN_CHOICE_LIST, "type"),
    (r"unmatched '((?:begin|end)_?\w+)'", Code.BAD_VALUE, "type"),
    (r"survey element named '([^']+)'", Code.DUPLICATE_NAME, "name"),
    (r"the survey sheet is (?:either empty or )?(missing)", Code.MISSING_SHEET, "survey"),
)


def pyxform_problem(exc: Exception, name: str) -> Problem:
    """pyxform's error as one of our coded problems, at its sheet and row; one we have no code for
    keeps pyxform's own words, under our translated heading (:attr:`Code.XLSFORM_INVALID`)."""
    detail = " ".join(str(exc).split())[:400]
    where = _row_of(detail)
    for pattern, code, column in PYXFORM_CODES:
        found = re.search(pattern, detail, re.IGNORECASE)
        if found:
            value = "survey" if code is Code.MISSING_SHEET else found.group(1).strip()
            return Problem(code, name, where, column, value[:200], "")
    return Problem(Code.XLSFORM_INVALID, name, where, value=_reason(detail))


def _reason(detail: str) -> str:
    """pyxform's words without its own '[row : N]' prefix (the place is given apart)."""
    return re.sub(r"^\[row\s*:\s*\d+\]\s*", "", detail)[:200]


def _row_of(detail: str) -> Message | str:
    m = re.search(r"\[row\s*:\s*(\d+)\]", detail)
    sheet = re.search(r"'(survey|choices|settings)' sheet", detail)
    if not m:
        return sheet_place(sheet.group(1)) if sheet else ""
    return sheet_place(sheet.group(1) if sheet else "survey", int(m.group(1)))


def _locator(places: dict[str, Message]):
    def locate(where: str) -> Message | str:
        best = max((p for p in places if where == p or where.startswith(p + ".") or where.startswith(p + "[")),
                   key=len, default=None)
        return Message("place.at", {"place": places[best], "path": where}) if best is not None else where

    return locate


def language_code(name: str, default: str = "en") -> str | None:
    """'Vietnamese (vi)' -> 'vi'; 'English' -> 'en'; 'default' -> ``default``; unknown -> None."""
    m = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\)\s*$", name)
    if m:
        return m.group(1).lower()
    code = LANGUAGE_CODES.get(name.strip().lower())
    return default if code == "" else code


class Mapper:
    """pyxform's JSON tree -> our instrument dict, recording where each part came from."""

    def __init__(self, file: str, tree: dict, rows: dict, choice_rows: dict, stem: str):
        self.file, self.tree, self.rows, self.choice_rows, self.stem = file, tree, rows, choice_rows, stem
        self.problems: list[Problem] = []
        self.warnings: list[Message | str] = []  #: ours as codes, pyxform's in its own words
        self.places: dict[str, Message] = {}
        default = language_code(str(tree.get("default_language") or "default"), "en") or "en"
        self.default_code = default
        self.lang_names: dict[str, str] = {}  # pyxform language key -> our code
        self.lists: dict[str, list] = {}
        self.attachments: dict[str, Path] = {}
        self.titled = True  #: the form's settings give its title (else the file's name does)
        self.contacts: set[str] = set()  #: contact types a text was recognised as (one question each)

    def row(self, name: Any) -> Any:
        """The survey-sheet row of ``name``; a generated 'x_other' question points at 'x'."""
        if name in self.rows:
            return self.rows[name]
        base = str(name)[:-6] if str(name).endswith("_other") else None
        return self.rows.get(base, "?")

    def problem(self, code: Code, name: str, column: str, value: Any, detail: Any = "") -> None:
        where = sheet_place("survey", self.row(name))
        self.problems.append(Problem(code, self.file, where, column, str(value)[:200], detail))

    # -- texts and languages ------------------------------------------------------------------
    def column_text(self, node: dict, column: str) -> dict[str, str] | None:
        """``column`` of a node, with older single-colon ``label:English (en)`` columns merged in."""
        value = node.get(column)
        merged: dict[str, Any] = dict(value) if isinstance(value, dict) else {} if value is None else {"default": value}
        prefix = column + ":"
        for key, text in node.items():
            if isinstance(key, str) and key.startswith(prefix) and not key.startswith(column + "::"):
                merged[key[len(prefix):].strip()] = text
        return self.text(merged) if merged else None

    def text(self, value: Any) -> dict[str, str] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            value = {"default": value}
        out: dict[str, str] = {}
        for key, text in value.items():
            code = self.lang_names.get(key)
            if code is None:
                code = language_code(str(key), self.default_code)
                if code is None:
                    self.problems.append(Problem(
                        Code.UNSUPPORTED, self.file, sheet_place("survey", header=True), "label", key,
                        Message("instrument.why.language_needs_code", {"language": key})))
                    code = str(key)
                self.lang_names[key] = code
            out[code] = str(text)
        return out

    def header_languages(self, header: dict) -> None:
        """Languages named by label columns count even where a row leaves them empty."""
        for column in header:
            m = re.match(r"^label\s*::?\s*(.+)$", str(column))
            if m:
                self.text({m.group(1).strip(): ""})

    def languages(self) -> list[str]:
        codes = list(dict.fromkeys(self.lang_names.values()))
        return sorted(codes, key=lambda c: (c != "vi", c != "en", codes.index(c)))

    # -- the instrument -----------------------------------------------------------------------
    def instrument(self) -> dict[str, Any]:
        tree = self.tree
        meta = _json_setting(tree.get("khaosat"))
        pages = self.pages(tree.get("children") or [])
        for list_name, items in (tree.get("choices") or {}).items():
            self.lists[list_name] = [self.choice(list_name, c) for c in items]
        title_text = str(tree.get("title") or self.stem) if self.titled else " ".join(self.stem.replace("_", " ").split())
        langs = self.languages() or [self.default_code]
        for page in pages:
            if page.pop("_auto", False):
                page["title"] = dict.fromkeys(langs, title_text)
        if not pages:
            self.problems.append(Problem(
                Code.UNSUPPORTED, self.file, sheet_place("survey"), "type", "metadata-only form",
                Message("instrument.why.metadata_only")))
        data: dict[str, Any] = {
            "slug": slug_from(str(tree.get("id_string") or ""), self.stem),
            "version": _version(tree.get("version")),
            "languages": langs,
            "title": meta.get("title") or dict.fromkeys(langs, title_text),
            "choice_lists": {k: v for k, v in self.lists.items() if k in self.used_lists},
            "pages": pages,
        }
        for key in ("description", "scoring", "area"):
            if meta.get(key):
                data[key] = meta[key]
        self.places["choice_lists"] = sheet_place("choices")
        return data

    used_lists: set[str]

    def choice(self, list_name: str, item: dict) -> dict[str, Any]:
        out: dict[str, Any] = {"code": item.get("name"), "label": self.column_text(item, "label")}
        out.update({k: v for k, v in item.items()
                    if k not in ("name", "label", "media", "image", "audio") and not str(k).startswith("label:")})
        return out

    def pages(self, children: list) -> list[dict[str, Any]]:
        self.used_lists = set()
        pages: list[dict[str, Any]] = []
        loose: list[dict[str, Any]] = []
        for child in children:
            if child.get("type") == "group" and not _is_grid(child) and not child.get("control", {}).get("bodyless"):
                if loose:
                    pages.append(self.auto_page(loose, len(pages)))
                    loose = []
                pages.append(self.page(child, len(pages)))
            elif child.get("name") == "meta" and child.get("type") == "group":
                continue
            else:
                loose.extend(self.questions([child], len(pages), len(loose), None))
        if loose:
            pages.append(self.auto_page(loose, len(pages)))
        return pages

    def auto_page(self, questions: list, index: int) -> dict[str, Any]:
        return {"name": f"page_{index + 1}", "_auto": True, "title": {}, "questions": questions}

    def page(self, group: dict, index: int) -> dict[str, Any]:
        where = f"pages[{index}]"
        self.places[where] = sheet_place("survey", self.rows.get(group.get("name"), "?"))
        page: dict[str, Any] = {"name": group.get("name"), "questions": []}
        label = self.column_text(group, "label")
        page["title"] = label or {}
        if not label:
            page["_auto"] = True
        relevant = (group.get("bind") or {}).get("relevant")
        if relevant:
            page["relevant"] = relevant
        page["questions"] = self.questions(group.get("children") or [], index, 0, None)
        return page

    def questions(self, children: list, page: int, start: int, relevant: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for child in children:
            kind = child.get("type")
            if kind == "group" and not _is_grid(child):
                inner = _and(relevant, (child.get("bind") or {}).get("relevant"))
                out.extend(self.questions(child.get("children") or [], page, start + len(out), inner))
                continue
            q = self.question(child, f"pages[{page}].questions[{start + len(out)}]")
            if q is not None:
                if relevant:
                    q["relevant"] = _and(relevant, q.get("relevant"))
                out.append(q)
        return out

    def question(self, node: dict, where: str) -> dict[str, Any] | None:
        name = node.get("name")
        self.places[where] = sheet_place("survey", self.row(name))
        return convert_question(self, node, where)


def _is_grid(node: dict) -> bool:
    return node.get("type") == "group" and any(
        str(c.get("name", "")).startswith("reserved_name_for_field_list_labels") for c in node.get("children") or [])


def _and(a: str | None, b: str | None) -> str | None:
    if a and b:
        return f"({a}) and ({b})"
    return a or b


def _json_setting(value: Any) -> dict[str, Any]:
    if not value:
        return {}
    try:
        data = json.loads(str(value))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}



def _version(value: Any) -> int:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else 1

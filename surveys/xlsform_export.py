"""Write an instrument as an XLSForm (openpyxl) that pyxform converts, for ODK Collect or KoboToolbox.

Pages become field-list groups, grids become table-list groups, repeats ``begin_repeat``; labels go in
``label::Vietnamese (vi)`` style columns. What XLSForm has no column for is kept in extra columns
that pyxform passes through (``competence``, ``correct``, ``province``, ``khaosat_type``, ``min`` ...)
and, for instrument-level texts and scoring, a ``khaosat`` JSON cell on the settings sheet, so that
:func:`surveys.xlsform.import_xlsform` gives back an equal instrument. An ``area`` question is written
as a ``select_one`` of the province's wards, so the form also works outside KhaoSat.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from surveys import areas
from surveys.questions import kind
from surveys.schema import Choice, Instrument, Question

LANGUAGE_NAMES = {"vi": "Vietnamese", "en": "English", "zh": "Chinese", "sw": "Swahili", "km": "Khmer",
                  "hmn": "Hmong", "fr": "French"}
SURVEY_COLUMNS = ["type", "name", "label", "hint", "required", "relevant", "constraint", "constraint_message",
                  "calculation", "appearance", "choice_filter", "competence", "correct", "province", "multiple",
                  "min", "max", "min_rows", "max_rows", "khaosat_type"]
TRANSLATED = ("label", "hint", "constraint_message")


def language_column(code: str) -> str:
    return f"{LANGUAGE_NAMES.get(code, code)} ({code})"


def export_xlsform(instrument: Instrument, path: str | Path) -> Path:
    """Write ``instrument`` to ``path`` (.xlsx) and return the path."""
    writer = _Writer(instrument)
    writer.write()
    book = Workbook()
    sheets = (("survey", writer.survey_header(), writer.rows), ("choices", writer.choice_header(), writer.choices),
              ("settings", ["form_title", "form_id", "version", "default_language", "khaosat"], [writer.settings()]))
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(column) for column in header])
    path = Path(path)
    book.save(path)
    return path


class _Writer:
    def __init__(self, instrument: Instrument):
        self.instrument = instrument
        self.langs: tuple[str, ...] = instrument.languages
        self.rows: list[dict[str, Any]] = []
        self.choices: list[dict[str, Any]] = []
        self.lists: dict[tuple, str] = {}
        self.filter_columns: list[str] = []

    def survey_header(self) -> list[str]:
        out = []
        for column in SURVEY_COLUMNS:
            if column in TRANSLATED:
                out.extend(f"{column}::{language_column(lang)}" for lang in self.langs)
            else:
                out.append(column)
        return out

    def choice_header(self) -> list[str]:
        return (["list_name", "name"] + [f"label::{language_column(lang)}" for lang in self.langs]
                + self.filter_columns)

    def settings(self) -> dict[str, Any]:
        meta = {"title": self.instrument.title}
        if self.instrument.description:
            meta["description"] = self.instrument.description
        if self.instrument.scoring:
            meta["scoring"] = self.instrument.scoring
        if self.instrument.area:
            meta["area"] = areas.coverage_setting(self.instrument.area)
        return {
            "form_title": self.instrument.text(self.instrument.title, self.instrument.default_language),
            "form_id": self.instrument.slug,
            "version": str(self.instrument.version),
            "default_language": language_column(self.instrument.default_language),
            "khaosat": json.dumps(meta, ensure_ascii=True, sort_keys=True),  # pyxform straightens smart quotes
        }

    def texts(self, row: dict[str, Any], column: str, text: dict[str, str] | None) -> None:
        for lang in self.langs:
            if text and text.get(lang):
                row[f"{column}::{language_column(lang)}"] = text[lang]

    def write(self) -> None:
        for page in self.instrument.pages:
            row = {"type": "begin_group", "name": page.name, "appearance": "field-list", "relevant": page.relevant}
            self.texts(row, "label", page.title)
            self.rows.append(row)
            for q in page.questions:
                self.question(q)
            self.rows.append({"type": "end_group"})

    def choice_list(self, name: str, choices: tuple[Choice, ...]) -> str:
        key = tuple((c.code, tuple(sorted(c.label.items())), tuple(sorted(c.filters.items()))) for c in choices)
        if key not in self.lists:
            self.lists[key] = name
            for c in choices:
                row = {"list_name": name, "name": c.code}
                self.texts(row, "label", c.label)
                for column, value in c.filters.items():
                    if column not in self.filter_columns:
                        self.filter_columns.append(column)
                    row[column] = value
                self.choices.append(row)
        return self.lists[key]

    def common(self, q: Question) -> dict[str, Any]:
        row: dict[str, Any] = {"name": q.name, "relevant": q.relevant, "constraint": q.constraint,
                               "calculation": q.calculation, "competence": q.competence,
                               "required": "yes" if q.required else None}
        self.texts(row, "label", q.label)
        self.texts(row, "hint", q.hint)
        self.texts(row, "constraint_message", q.constraint_message)
        for ours, column in (("minimum", "min"), ("maximum", "max")):
            value = getattr(q, ours)
            if value is not None:
                row[column] = int(value) if value == int(value) else value
        for column in ("appearance", "choice_filter", "min_rows", "max_rows"):
            if q.extra.get(column) is not None:
                row[column] = q.extra[column]
        return row

    def question(self, q: Question) -> None:
        kind(q.type).export(q, self.common(q), self)

"""Check a person's answers against an instrument: types, choices, required, limits, skip logic.

This is the one place that turns raw answers (a form post or a JSON body) into clean, typed values.
The web form, the offline submission API and the importers all go through :func:`check`.
Answers to questions that are not relevant are dropped, not reported as errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from surveys import expressions
from surveys import messages as msg
from surveys.messages import Message
from surveys.questions import Converted, kind
from surveys.schema import Instrument, Page, Question, Text


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)  #: clean values of relevant questions
    #: question name -> a :class:`~surveys.messages.Message`, or the author's constraint message per language
    errors: dict[str, Message | Text] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check(instrument: Instrument, raw: Mapping[str, Any], pages: Iterable[Page] | None = None,
          known: Mapping[str, Any] | None = None) -> Checked:
    """Check ``raw`` answers for the questions on ``pages`` (all pages by default).

    ``known`` holds answers already accepted on earlier pages; they take part in skip logic.
    """
    result = Checked()
    context: dict[str, Any] = dict(known or {})
    for page in instrument.pages if pages is None else pages:
        if page.relevant and not _true(page.relevant, context):
            for q in page.questions:
                context.pop(q.name, None)
            continue
        for q in page.questions:
            if q.relevant and not _true(q.relevant, context):
                context.pop(q.name, None)
                continue
            if q.type == "calculate":
                value = _value(q.calculation or "", context) if q.calculation else None
                result.values[q.name] = context[q.name] = value
                continue
            question_type = kind(q.type)
            if not question_type.takes_answer:
                continue
            if q.type == "grid":
                _check_items(q.items, raw, context, result)
                continue
            if q.type == "repeat":
                value, error = _repeat(q, raw, context)
            else:
                answer = raw.get(q.name)
                value, error = (None, None) if _blank(answer) else question_type.convert(q, answer)
            if error is None and (value is None or q.constraint or q.extra):
                error = _rules(q, value, context)
            if error is not None:
                result.errors[q.name] = error
                context.pop(q.name, None)
            elif value is not None:
                result.values[q.name] = context[q.name] = value
            else:
                context.pop(q.name, None)
    return result


def _rules(q: Question, value: Any, context: Mapping[str, Any]) -> Message | Text | None:
    """The question's own rules on a clean value: its choice filter, its constraint, whether it is required."""
    if value is None:
        return kind(q.type).required_message if q.required else None
    if q.extra.get("choice_filter"):
        error = _filtered(q, value, context)
        if error is not None:
            return error
    if q.constraint and not _true(q.constraint, context, current=value):
        return q.constraint_message or msg.CONSTRAINT
    return None


def _true(src: str | expressions.Node, context: Mapping[str, Any], current: Any = None, row: Any = None) -> bool:
    """An expression as a boolean; one that fails at run time (e.g. a regex over the work bound) is false."""
    try:
        return expressions.evaluate_bool(src, context, current, row)
    except expressions.ExpressionError:
        return False


def _value(src: str, context: Mapping[str, Any]) -> Any:
    try:
        value = expressions.evaluate(src, context)
    except expressions.ExpressionError:
        return None
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _check_items(items: tuple[Question, ...], raw: Mapping[str, Any], context: dict, result: Checked) -> None:
    """Grid rows: each item is answered, checked and stored under its own name."""
    for item in items:
        if item.relevant and not _true(item.relevant, context):
            context.pop(item.name, None)
            continue
        value, error = _convert(item, raw.get(item.name))
        if error is None and value is None and item.required:
            error = msg.REQUIRED
        if error is not None:
            result.errors[item.name] = error
            context.pop(item.name, None)
        elif value is not None:
            result.values[item.name] = context[item.name] = value


MAX_ROWS = 50


def _rows(q: Question, raw: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The rows of a repeat: a JSON list of dicts, or ``<repeat>.<i>.<field>`` form keys."""
    value = raw.get(q.name)
    if isinstance(value, list):
        return value if all(isinstance(r, dict) for r in value) else None
    if value not in (None, ""):
        return None
    rows: dict[int, dict[str, Any]] = {}
    prefix = q.name + "."
    for key, item in raw.items():
        if isinstance(key, str) and key.startswith(prefix):
            index, _, field_name = key[len(prefix):].partition(".")
            if index.isdigit() and int(index) < MAX_ROWS:
                rows.setdefault(int(index), {})[field_name] = item
    return [rows[i] for i in sorted(rows)]


def _repeat(q: Question, raw: Mapping[str, Any], context: Mapping[str, Any]) -> tuple[Any, Message | None]:
    rows = _rows(q, raw)
    limit = min(int(q.extra.get("max_rows", MAX_ROWS)), MAX_ROWS)
    if rows is None or len(rows) > limit:
        return None, msg.TOO_MANY_ROWS(limit=limit)
    if len(rows) < int(q.extra.get("min_rows", 0)):
        return None, msg.TOO_FEW_ROWS(limit=int(q.extra.get("min_rows", 0)))
    clean = []
    for i, row in enumerate(rows):
        checked = check_row(q, row, context)
        if checked.errors:
            name, error = next(iter(checked.errors.items()))
            return None, msg.ROW_ERROR(row=i + 1, detail=error)
        clean.append(checked.values)
    return (clean or None), None


def check_row(q: Question, row: Mapping[str, Any], context: Mapping[str, Any]) -> Checked:
    """One row of a repeat, with the answers outside the repeat visible to its expressions."""
    result = Checked()
    scope = dict(context)
    for item in q.items:
        if item.relevant and not _true(item.relevant, scope):
            continue
        if item.type == "calculate":
            result.values[item.name] = scope[item.name] = _value(item.calculation or "", scope)
            continue
        if not kind(item.type).takes_answer:
            continue
        value, error = _convert(item, row.get(item.name))
        if error is None and value is not None and item.constraint:
            if not _true(item.constraint, scope, current=value):
                error = item.constraint_message or msg.CONSTRAINT
        if error is None and value is None and item.required:
            error = msg.REQUIRED
        if error is not None:
            result.errors[item.name] = error
        elif value is not None:
            result.values[item.name] = scope[item.name] = value
    return result


def _filtered(q: Question, value: Any, context: Mapping[str, Any]) -> Message | None:
    """A cascading select: the chosen code(s) must pass the question's ``choice_filter``."""
    codes = value if isinstance(value, list) else [value]
    by_code = {c.code: c for c in q.choices}
    try:
        tree = expressions.parse(str(q.extra["choice_filter"]), frozenset(k for c in q.choices for k in c.filters))
    except expressions.ExpressionError:
        return None
    for code in codes:
        choice = by_code.get(str(code))
        if choice is None or not _true(tree, context, row=choice.filters):
            return msg.NOT_A_CHOICE
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _convert(q: Question, value: Any) -> Converted:
    """The clean value of one answer, or an error message."""
    return (None, None) if _blank(value) else kind(q.type).convert(q, value)

"""Evaluate a parsed expression tree on answers, with XPath 1.0 / XLSForm value semantics.

* A missing answer is '' (empty). A multiple-choice answer is the list of its codes (XPath sees the
  space-separated string); a repeat is a list of row dicts (``count()`` counts rows, ``sum()`` adds a
  field over them).
* ``=`` and ``!=`` compare booleans if either side is boolean, else numbers if either side is a
  number, else strings; ``< <= > >=`` compare numbers. An ISO date ``YYYY-MM-DD`` converts to days
  since 1970-01-01, so ``${d} < today()`` works; a wall-clock time ``YYYY-MM-DDTHH:MM[:SS]`` (as
  ``now()`` gives) to days with the time of day as a fraction, and a time ``HH:MM[:SS]`` to that fraction
  alone, so ``${t} >= '08:00'`` works. '' converts to NaN, which compares
  false. ``today()`` and ``now()`` read the survey's clock (:mod:`surveys.clock`).
* Arithmetic is on floats (XPath numbers): no unbounded integers; division by zero gives ±Infinity
  or NaN, never an exception. Strings built by ``concat`` are capped.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from surveys import clock, saferegex
from surveys.expression_tree import ExpressionError, Node

MAX_STRING = 10_000
_NUMBER_RE = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)\s*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})T(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")
_TIME_RE = re.compile(r"^(?P<day>)(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")
_EPOCH = dt.date(1970, 1, 1)


def to_str(value: Any) -> str:
    """XPath ``string()``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return number_to_str(float(value))
    if isinstance(value, list | tuple):
        return " ".join(to_str(v) for v in value if not isinstance(v, dict))
    return str(value)


def number_to_str(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def to_num(value: Any) -> float:
    """XPath ``number()``; ISO dates become days since 1970-01-01; anything else non-numeric is NaN."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    text = to_str(value).strip()
    if _NUMBER_RE.match(text):
        return float(text)
    if _DATE_RE.match(text):
        return _days(text)
    moment = _DATETIME_RE.match(text) or _TIME_RE.match(text)
    if moment:
        day = _days(moment["day"]) if moment["day"] else 0.0
        hours, minutes, seconds = int(moment["h"]), int(moment["m"]), int(moment["s"] or 0)
        if hours > 23 or minutes > 59 or seconds > 59:
            return math.nan
        return day + (hours * 3600 + minutes * 60 + seconds) / 86400
    return math.nan


def _days(text: str) -> float:
    try:
        return float((dt.date.fromisoformat(text) - _EPOCH).days)
    except ValueError:
        return math.nan


def to_bool(value: Any) -> bool:
    """XPath ``boolean()``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, list | tuple):
        return len(value) > 0
    return value is not None and value != ""


def to_list(value: Any) -> list[str]:
    """The codes of a multiple-choice answer (a list, or a space-separated string)."""
    if isinstance(value, list | tuple):
        return [to_str(v) for v in value if not isinstance(v, dict)]
    return to_str(value).split()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("=", "!="):
        if isinstance(a, bool) or isinstance(b, bool):
            same = to_bool(a) == to_bool(b)
        elif _is_number(a) or _is_number(b):
            same = to_num(a) == to_num(b)
        else:
            same = to_str(a) == to_str(b)
        return same if op == "=" else not same
    x, y = to_num(a), to_num(b)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _arith(op: str, x: float, y: float) -> float:
    try:
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "div":
            if y == 0:
                return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1, y)
            return x / y
        return math.nan if y == 0 or math.isinf(x) else math.fmod(x, y)
    except (OverflowError, ValueError):
        return math.nan


class Evaluator:
    """Evaluates trees against one set of answers; ``current`` is the value of ``.``."""

    def __init__(self, values: Mapping[str, Any], current: Any = None, row: Mapping[str, str] | None = None):
        self.values = values
        self.current = current
        self.row = row or {}

    def eval(self, node: Node) -> Any:
        kind = node.kind
        if kind in ("num", "str"):
            return node.value
        if kind == "ref":
            value = self.values.get(node.value)
            if value is None:
                value = self._from_repeats(node.value)
            return "" if value is None else value
        if kind == "col":
            return self.row.get(node.value, "")
        if kind == "cur":
            return "" if self.current is None else self.current
        if kind == "fn":
            return getattr(self, "fn_" + node.value.replace("-", "_"))(node.args)
        return self.operator(node.value, node.args)

    def _from_repeats(self, name: str) -> list[Any] | None:
        """A field inside a repeat, seen from outside it: its values over the rows."""
        for value in self.values.values():
            if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
                if any(name in row for row in value):
                    return [row.get(name, "") for row in value]
        return None

    def operator(self, op: str, args: tuple[Node, ...]) -> Any:
        if op == "neg":
            return -to_num(self.eval(args[0]))
        if op == "or":
            return to_bool(self.eval(args[0])) or to_bool(self.eval(args[1]))
        if op == "and":
            return to_bool(self.eval(args[0])) and to_bool(self.eval(args[1]))
        a, b = self.eval(args[0]), self.eval(args[1])
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(op, a, b)
        return _arith(op, to_num(a), to_num(b))

    # -- functions, one method each, named fn_<name> ------------------------------------------
    def fn_selected(self, args: tuple[Node, ...]) -> bool:
        return to_str(self.eval(args[1])).strip() in to_list(self.eval(args[0]))

    def fn_count_selected(self, args: tuple[Node, ...]) -> float:
        return float(len(to_list(self.eval(args[0]))))

    def fn_if(self, args: tuple[Node, ...]) -> Any:
        return self.eval(args[1]) if to_bool(self.eval(args[0])) else self.eval(args[2])

    def fn_not(self, args: tuple[Node, ...]) -> bool:
        return not to_bool(self.eval(args[0]))

    def fn_true(self, args: tuple[Node, ...]) -> bool:
        return True

    def fn_false(self, args: tuple[Node, ...]) -> bool:
        return False

    def fn_string_length(self, args: tuple[Node, ...]) -> float:
        return float(len(to_str(self.eval(args[0]))))

    def fn_regex(self, args: tuple[Node, ...]) -> bool:
        text, pattern = to_str(self.eval(args[0])), to_str(self.eval(args[1]))
        try:
            return saferegex.search(pattern, text)
        except saferegex.RegexError as exc:
            raise ExpressionError("bad_regex", reason=str(exc)) from None

    def fn_coalesce(self, args: tuple[Node, ...]) -> Any:
        first = self.eval(args[0])
        return first if to_str(first) != "" else self.eval(args[1])

    def fn_concat(self, args: tuple[Node, ...]) -> str:
        parts: list[str] = []
        size = 0
        for arg in args:
            part = to_str(self.eval(arg))
            size += len(part)
            if size > MAX_STRING:
                raise ExpressionError("concat_too_long", limit=MAX_STRING)
            parts.append(part)
        return "".join(parts)

    def fn_contains(self, args: tuple[Node, ...]) -> bool:
        return to_str(self.eval(args[1])) in to_str(self.eval(args[0]))

    def fn_starts_with(self, args: tuple[Node, ...]) -> bool:
        return to_str(self.eval(args[0])).startswith(to_str(self.eval(args[1])))

    def fn_ends_with(self, args: tuple[Node, ...]) -> bool:
        return to_str(self.eval(args[0])).endswith(to_str(self.eval(args[1])))

    def fn_today(self, args: tuple[Node, ...]) -> str:
        return clock.today()

    def fn_now(self, args: tuple[Node, ...]) -> str:
        return clock.now()

    def fn_int(self, args: tuple[Node, ...]) -> float:
        x = to_num(self.eval(args[0]))
        return x if math.isnan(x) or math.isinf(x) else float(math.trunc(x))

    def fn_number(self, args: tuple[Node, ...]) -> float:
        return to_num(self.eval(args[0]))

    def fn_string(self, args: tuple[Node, ...]) -> str:
        return to_str(self.eval(args[0]))

    def fn_boolean(self, args: tuple[Node, ...]) -> bool:
        return to_bool(self.eval(args[0]))

    def fn_round(self, args: tuple[Node, ...]) -> float:
        x = to_num(self.eval(args[0]))
        places = to_num(self.eval(args[1])) if len(args) > 1 else 0.0
        if math.isnan(x) or math.isinf(x) or math.isnan(places):
            return x
        factor = 10.0 ** int(max(-15.0, min(15.0, places)))
        try:
            return math.floor(x * factor + 0.5) / factor
        except OverflowError:
            return x

    def fn_min(self, args: tuple[Node, ...]) -> float:
        numbers = self._numbers(args)
        return min(numbers) if numbers and not any(math.isnan(n) for n in numbers) else math.nan

    def fn_max(self, args: tuple[Node, ...]) -> float:
        numbers = self._numbers(args)
        return max(numbers) if numbers and not any(math.isnan(n) for n in numbers) else math.nan

    def _numbers(self, args: tuple[Node, ...]) -> list[float]:
        out: list[float] = []
        for arg in args:
            value = self.eval(arg)
            items = value if isinstance(value, list | tuple) else [value]
            out.extend(to_num(v) for v in items)
        return out

    def fn_count(self, args: tuple[Node, ...]) -> float:
        value = self.eval(args[0])
        if isinstance(value, list | tuple):
            return float(len(value))
        return 0.0 if value == "" else 1.0

    def fn_sum(self, args: tuple[Node, ...]) -> float:
        value = self.eval(args[0])
        items = value if isinstance(value, list | tuple) else [value]
        numbers = [to_num(v) for v in items if v != ""]
        try:
            return math.fsum(numbers)
        except (OverflowError, ValueError):
            return math.nan

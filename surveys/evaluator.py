"""Evaluate a parsed expression tree on answers, with XPath 1.0 / XLSForm value semantics.

A tree is compiled once into nested Python closures (:func:`compiled`) and evaluated by calling them.

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
from collections.abc import Callable, Mapping
from typing import Any

from surveys import clock, saferegex
from surveys.expression_tree import ExpressionError, Node

MAX_STRING = 10_000
_NUMBER_RE = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)\s*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})T(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")
_TIME_RE = re.compile(r"^(?P<day>)(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")
_EPOCH = dt.date(1970, 1, 1)

#: an expression compiled (:func:`compiled`): its value on the answers of an :class:`Evaluator`
Part = Callable[["Evaluator"], Any]
Parts = tuple[Part, ...]


def to_str(value: Any) -> str:
    """XPath ``string()``."""
    if type(value) is str:  # the usual case first: answers are text
        return value
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
    if value is True or value is False:
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


def _equal(a: Any, b: Any) -> bool:
    """XPath ``=``: as booleans if either side is one, else as numbers if either is one, else as strings."""
    if type(a) is str and type(b) is str:  # the usual case first: an answer against a code
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return to_bool(a) == to_bool(b)
    if _is_number(a) or _is_number(b):
        return to_num(a) == to_num(b)
    return to_str(a) == to_str(b)


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
    """The answers one evaluation reads (``current`` is the value of ``.``, ``row`` a choice's columns), and the
    functions an expression may call, one method each, given their arguments as compiled parts."""

    __slots__ = ("values", "current", "row")

    def __init__(self, values: Mapping[str, Any], current: Any = None, row: Mapping[str, str] | None = None):
        self.values = values
        self.current = current
        self.row = row or {}

    def answer(self, name: str) -> Any:
        value = self.values.get(name)
        if value is None:
            value = self._from_repeats(name)
        return "" if value is None else value

    def _from_repeats(self, name: str) -> list[Any] | None:
        """A field inside a repeat, seen from outside it: its values over the rows."""
        for value in self.values.values():
            if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
                if any(name in row for row in value):
                    return [row.get(name, "") for row in value]
        return None

    # -- functions, one method each, named fn_<name> ------------------------------------------
    def fn_selected(self, args: Parts) -> bool:
        return to_str(args[1](self)).strip() in to_list(args[0](self))

    def fn_count_selected(self, args: Parts) -> float:
        return float(len(to_list(args[0](self))))

    def fn_if(self, args: Parts) -> Any:
        return args[1](self) if to_bool(args[0](self)) else args[2](self)

    def fn_not(self, args: Parts) -> bool:
        return not to_bool(args[0](self))

    def fn_true(self, args: Parts) -> bool:
        return True

    def fn_false(self, args: Parts) -> bool:
        return False

    def fn_string_length(self, args: Parts) -> float:
        return float(len(to_str(args[0](self))))

    def fn_regex(self, args: Parts) -> bool:
        text, pattern = to_str(args[0](self)), to_str(args[1](self))
        try:
            return saferegex.search(pattern, text)
        except saferegex.RegexError as exc:
            raise ExpressionError("bad_regex", reason=str(exc)) from None

    def fn_coalesce(self, args: Parts) -> Any:
        first = args[0](self)
        return first if to_str(first) != "" else args[1](self)

    def fn_concat(self, args: Parts) -> str:
        parts: list[str] = []
        size = 0
        for arg in args:
            part = to_str(arg(self))
            size += len(part)
            if size > MAX_STRING:
                raise ExpressionError("concat_too_long", limit=MAX_STRING)
            parts.append(part)
        return "".join(parts)

    def fn_contains(self, args: Parts) -> bool:
        return to_str(args[1](self)) in to_str(args[0](self))

    def fn_starts_with(self, args: Parts) -> bool:
        return to_str(args[0](self)).startswith(to_str(args[1](self)))

    def fn_ends_with(self, args: Parts) -> bool:
        return to_str(args[0](self)).endswith(to_str(args[1](self)))

    def fn_today(self, args: Parts) -> str:
        return clock.today()

    def fn_now(self, args: Parts) -> str:
        return clock.now()

    def fn_int(self, args: Parts) -> float:
        x = to_num(args[0](self))
        return x if math.isnan(x) or math.isinf(x) else float(math.trunc(x))

    def fn_number(self, args: Parts) -> float:
        return to_num(args[0](self))

    def fn_string(self, args: Parts) -> str:
        return to_str(args[0](self))

    def fn_boolean(self, args: Parts) -> bool:
        return to_bool(args[0](self))

    def fn_round(self, args: Parts) -> float:
        x = to_num(args[0](self))
        places = to_num(args[1](self)) if len(args) > 1 else 0.0
        if math.isnan(x) or math.isinf(x) or math.isnan(places):
            return x
        factor = 10.0 ** int(max(-15.0, min(15.0, places)))
        try:
            return math.floor(x * factor + 0.5) / factor
        except OverflowError:
            return x

    def fn_min(self, args: Parts) -> float:
        numbers = self._numbers(args)
        return min(numbers) if numbers and not any(math.isnan(n) for n in numbers) else math.nan

    def fn_max(self, args: Parts) -> float:
        numbers = self._numbers(args)
        return max(numbers) if numbers and not any(math.isnan(n) for n in numbers) else math.nan

    def _numbers(self, args: Parts) -> list[float]:
        out: list[float] = []
        for arg in args:
            value = arg(self)
            items = value if isinstance(value, list | tuple) else [value]
            out.extend(to_num(v) for v in items)
        return out

    def fn_count(self, args: Parts) -> float:
        value = args[0](self)
        if isinstance(value, list | tuple):
            return float(len(value))
        return 0.0 if value == "" else 1.0

    def fn_sum(self, args: Parts) -> float:
        value = args[0](self)
        items = value if isinstance(value, list | tuple) else [value]
        numbers = [to_num(v) for v in items if v != ""]
        try:
            return math.fsum(numbers)
        except (OverflowError, ValueError):
            return math.nan


# -- compiling a tree into Python closures ---------------------------------------------------------------
# An expression is compiled once (kept on its tree, which :func:`surveys.expressions.parse` caches by its text)
# into nested closures, so that each evaluation calls them directly instead of walking the tree and choosing,
# node by node, what to do: skip logic and constraints run for every question of every submission.

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}


def compiled(node: Node) -> Part:
    """``node`` as a function of the answers: ``compiled(tree)(Evaluator(values))`` is its value."""
    if node.compiled is None:
        object.__setattr__(node, "compiled", _compile(node))  # frozen: the one field set after the parse
    return node.compiled


def _compile(node: Node) -> Part:
    kind, value = node.kind, node.value
    if kind in ("num", "str"):
        return lambda scope: value
    if kind == "ref":
        return lambda scope: scope.answer(value)
    if kind == "col":
        return lambda scope: scope.row.get(value, "")
    if kind == "cur":
        return lambda scope: "" if scope.current is None else scope.current
    args = tuple(compiled(arg) for arg in node.args)
    if kind == "fn":
        function = getattr(Evaluator, "fn_" + value.replace("-", "_"))
        return lambda scope: function(scope, args)
    return _operator(value, args)


def _operator(op: str, args: Parts) -> Part:
    if op == "neg":
        (a,) = args
        return lambda scope: -to_num(a(scope))
    a, b = args
    if op == "or":
        return lambda scope: to_bool(a(scope)) or to_bool(b(scope))
    if op == "and":
        return lambda scope: to_bool(a(scope)) and to_bool(b(scope))
    if op == "=":
        return lambda scope: _equal(a(scope), b(scope))
    if op == "!=":
        return lambda scope: not _equal(a(scope), b(scope))
    if op in _COMPARE:
        compare = _COMPARE[op]
        return lambda scope: compare(to_num(a(scope)), to_num(b(scope)))
    return lambda scope: _arith(op, to_num(a(scope)), to_num(b(scope)))

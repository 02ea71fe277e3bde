"""Reading an API body strictly, and the checks below what a schema expresses.

The body is parsed strictly (UTF-8, no ``NaN``/``Infinity``, no duplicate keys, bounded size and
nesting), every string must be storable (no NUL, no lone surrogate) and every number finite and
within the range a JavaScript client represents exactly. Each problem is reported as
``{field: {language: message}}``: ``_`` for the body as a whole, a question's name for an answer,
``meta.<key>`` for paradata.

Hand-written because neither JSON Schema nor pydantic expresses these (pydantic-core's JSON reader
keeps the last of duplicate names, and a schema cannot refuse a lone surrogate anywhere in free-form
answers); the body's outline, paradata and household are then checked by the pydantic models of
:mod:`web.api.bodies`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Request

from web.errors import UNSTORABLE, UNSTORABLE_TEXT
from web.i18n import lazy_gettext
from web.messages import in_every_language

MAX_BODY_BYTES = 1024 * 1024  #: a submission with a full household roster is a few KB
MAX_DEPTH = 16  #: body > answers > roster > row > value is 5 levels
MAX_SAFE_INTEGER = 2**53 - 1  #: JavaScript's Number.MAX_SAFE_INTEGER: the app cannot send more exactly
#: after lower-casing and dropping everything but letters: names that would carry a position
_LOCATION_WORDS = ("gps", "lat", "lon", "lng", "geo", "position", "location", "coord", "accuracy", "altitude",
                   "address", "place")

Messages = dict[str, dict[str, str]]


class BadBody(ValueError):
    """The body cannot be read as a JSON submission at all (a 400)."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


NOT_JSON = lazy_gettext("The body must be a JSON object in UTF-8.")
TOO_DEEP = lazy_gettext("The body is nested too deeply (at most %(limit)s levels).", limit=MAX_DEPTH)
NOT_FINITE = lazy_gettext("Numbers must be finite: NaN and Infinity are not numbers.")
DUPLICATE_KEY = lazy_gettext("A name appears twice in the same object.")
OUT_OF_RANGE = lazy_gettext("The number is out of range.")


def message(text, **params: Any) -> dict[str, str]:
    """A (lazy) interface string in every language, with ``params`` filled in after translation."""
    return in_every_language(text, **params)


def read_body(request: Request) -> Any:
    """The request's JSON body, parsed strictly; raises :class:`BadBody` (a 400) when it is not JSON.

    A body over :data:`MAX_BODY_BYTES` raises Werkzeug's 413 while it is read.
    """
    request.max_content_length = MAX_BODY_BYTES
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                          object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise BadBody(TOO_DEEP) from None
    except _NotFinite:
        raise BadBody(NOT_FINITE) from None
    except _Duplicate:
        raise BadBody(DUPLICATE_KEY) from None
    except ValueError:  # not UTF-8, not JSON, or an integer of more than 4,300 digits
        raise BadBody(NOT_JSON) from None


class _NotFinite(ValueError):
    pass


class _Duplicate(ValueError):
    pass


def _refuse_constant(_name: str) -> Any:
    raise _NotFinite


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses to inf
        raise _NotFinite
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Duplicate
    return result


def field_name(path: tuple[str, ...]) -> str:
    """The error key for a path in the body: a question's name for an answer, else the dotted path."""
    if len(path) >= 2 and path[0] == "answers":
        return path[1]
    return ".".join(path) or "_"


#: what a body's raw JSON must contain for one of its values to be unstorable: a NUL or a surrogate (only
#: written as a ``\\u`` escape: raw ones are not JSON or not UTF-8) or an integer of 16 digits or more
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])|[0-9]{16}")


def storable(body: Any, raw: bytes | None = None) -> Messages:
    """Problems with values no database keeps faithfully: deep nesting, NUL and lone surrogates, huge integers.

    Given the ``raw`` JSON the body was read from, a body whose text has none of :data:`_SUSPECT` is only
    checked for its nesting (the common case: 0.05 ms instead of 0.25 ms). Otherwise walks the body without
    recursion; a value's path is built only for a problem (a body has ~100 answers).
    """
    if raw is not None and _SUSPECT.search(raw) is None:
        return {} if _nested_within(body, MAX_DEPTH) else {"_": message(TOO_DEEP)}
    problems: Messages = {}
    stack: list[tuple[tuple[str, ...], Any]] = [((), body)]
    while stack:
        here, item = stack.pop()
        if len(here) > MAX_DEPTH:
            return {"_": message(TOO_DEEP)}
        pairs = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else None
        if pairs is None:
            _note(problems, here, None, _unstorable(item))
            continue
        for key, inner in pairs:
            if isinstance(key, str) and UNSTORABLE.search(key):
                _note(problems, here, None, UNSTORABLE_TEXT)  # a bad key is reported at its object
            if isinstance(inner, dict | list):
                stack.append(((*here, str(key)), inner))
            elif isinstance(inner, str) and not UNSTORABLE.search(inner) or inner is None or isinstance(inner, float):
                continue  # the common case, without a call
            else:
                _note(problems, here, key, _unstorable(inner))
    return problems


def _nested_within(body: Any, limit: int) -> bool:
    """Whether no object or list in ``body`` sits more than ``limit`` levels below it."""
    level = [body]
    for _ in range(limit + 1):
        level = [inner for outer in level for inner in (outer.values() if isinstance(outer, dict) else outer)
                 if isinstance(inner, dict | list)]
        if not level:
            return True
    return False


def _unstorable(value: Any) -> Any:
    """The message for a value no database keeps faithfully, else None."""
    if isinstance(value, str):
        return UNSTORABLE_TEXT if UNSTORABLE.search(value) else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        return OUT_OF_RANGE
    return None


def _note(problems: Messages, here: tuple[str, ...], key: Any, text: Any) -> None:
    """Record ``text`` (if any) for the value at ``key`` of the object at ``here`` (``key`` None: the object)."""
    if text is not None:
        problems.setdefault(field_name(here if key is None else (*here, str(key))), message(text))


def is_location_key(key: str) -> bool:
    """True for a name that would carry a position (``gpsLat``, ``position``, ``geo_x``…)."""
    letters = re.sub(r"[^a-z]", "", key.lower())
    return any(word in letters for word in _LOCATION_WORDS)



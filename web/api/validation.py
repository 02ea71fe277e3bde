"""Checking a submission's body before anything is stored.

The body is parsed strictly (UTF-8, no ``NaN``/``Infinity``, no duplicate keys, bounded size and
nesting), every string must be storable (no NUL, no lone surrogate) and every number finite and
within the range a JavaScript client represents exactly. ``meta`` (paradata) follows a schema:
known keys with their types and bounds, a size cap, and no location outside the consented ``gps``.

Each problem is reported as ``{field: {language: message}}``: ``_`` for the body as a whole, a
question's name for an answer, ``meta.<key>`` for paradata. Hand-written rather than JSON Schema,
because each refusal needs its own message in every language and the numeric and text checks go
below what a schema language expresses (lone surrogates, exact-integer range).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import Request

from web.errors import UNSTORABLE, UNSTORABLE_TEXT
from web.i18n import in_every_language, lazy_gettext

MAX_BODY_BYTES = 1024 * 1024  #: a submission with a full household roster is a few KB
MAX_DEPTH = 16  #: body > answers > roster > row > value is 5 levels
MAX_SAFE_INTEGER = 2**53 - 1  #: JavaScript's Number.MAX_SAFE_INTEGER: the app cannot send more exactly
MAX_META_BYTES = 4096
#: an interview paused for weeks is odd, longer is nonsense; a phone whose clock was set back during
#: an interview counts a negative time, which is accepted (and flagged in quality review), not refused
MAX_DURATION_S = 30 * 24 * 3600
#: a cheap phone whose battery ran flat may restart at 1970 until it finds the network time: accepted
EARLIEST, LATEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
#: after lower-casing and dropping everything but letters: names that would carry a position
_LOCATION_WORDS = ("gps", "lat", "lon", "lng", "geo", "position", "location", "coord", "accuracy", "altitude",
                   "address", "place")

Messages = dict[str, dict[str, str]]


class BadBody(ValueError):
    """The body cannot be read as a JSON submission at all (a 400)."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class MetaField:
    """One allowed paradata key: its type and its bounds."""

    kind: str  #: "text", "timestamp", "seconds", "flag" or "gps"
    max_length: int = 64


#: the paradata the collection app sends (web/static/collect.js); anything else is refused
META_SCHEMA: dict[str, MetaField] = {
    "started_at": MetaField("timestamp"),
    "ended_at": MetaField("timestamp"),
    "duration_s": MetaField("seconds"),
    "channel": MetaField("text", 16),
    "language": MetaField("text", 8),
    "volunteer": MetaField("text", 64),
    "app_version": MetaField("text", 32),
    "gps_consent": MetaField("flag"),
    "gps": MetaField("gps"),
}
GPS_KEYS = frozenset({"lat", "lon", "accuracy_m"})

NOT_JSON = lazy_gettext("The body must be a JSON object in UTF-8.")
TOO_DEEP = lazy_gettext("The body is nested too deeply (at most %(limit)s levels).", limit=MAX_DEPTH)
NOT_FINITE = lazy_gettext("Numbers must be finite: NaN and Infinity are not numbers.")
DUPLICATE_KEY = lazy_gettext("A name appears twice in the same object.")
OUT_OF_RANGE = lazy_gettext("The number is out of range.")
META_UNKNOWN = lazy_gettext("This paradata field is not accepted.")
META_LOCATION = lazy_gettext("A location is accepted only in 'gps', with the respondent's consent.")
META_TOO_LARGE = lazy_gettext("The paradata are too large (at most %(limit)s bytes).", limit=MAX_META_BYTES)
META_TEXT = lazy_gettext("This field must be text of at most %(limit)s characters.")
META_FLAG = lazy_gettext("This field must be true or false.")
META_TIMESTAMP = lazy_gettext("This field must be a date and time (ISO 8601) between 1970 and 2100.")
META_SECONDS = lazy_gettext("This field must be a number of seconds between -%(limit)s and %(limit)s.",
                            limit=MAX_DURATION_S)
META_GPS = lazy_gettext("The GPS position is invalid: 'lat' (-90 to 90), 'lon' (-180 to 180) and 'accuracy_m' "
                        "(metres) must be numbers.")


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


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, int]]:
    """Every key and value in ``value`` with its path and depth, without recursion."""
    stack = [(path, value)]
    while stack:
        here, item = stack.pop()
        yield here, item, len(here)
        if isinstance(item, dict):
            for key, inner in item.items():
                yield here, key, len(here) + 1  # a bad key is reported at its object
                stack.append(((*here, str(key)), inner))
        elif isinstance(item, list):
            stack.extend(((*here, str(i)), inner) for i, inner in enumerate(item))


def field_name(path: tuple[str, ...]) -> str:
    """The error key for a path in the body: a question's name for an answer, else the dotted path."""
    if len(path) >= 2 and path[0] == "answers":
        return path[1]
    return ".".join(path) or "_"


def storable(body: Any) -> Messages:
    """Problems with values no database keeps faithfully: deep nesting, NUL and lone surrogates, huge integers."""
    problems: Messages = {}
    for path, value, depth in _walk(body):
        if depth > MAX_DEPTH:
            return {"_": message(TOO_DEEP)}
        if isinstance(value, str) and UNSTORABLE.search(value):
            problems.setdefault(field_name(path), message(UNSTORABLE_TEXT))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
            problems.setdefault(field_name(path), message(OUT_OF_RANGE))
    return problems


@dataclass
class Paradata:
    """``meta`` once checked: what may be stored, the parsed timestamps and the GPS part (if any)."""

    stored: dict[str, Any] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    problems: Messages = field(default_factory=dict)


def is_location_key(key: str) -> bool:
    """True for a name that would carry a position (``gpsLat``, ``position``, ``geo_x``…)."""
    letters = re.sub(r"[^a-z]", "", key.lower())
    return any(word in letters for word in _LOCATION_WORDS)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 date and time between 1970 and 2100, in UTC (no zone: UTC); None when it is not one."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-14:00 overflows when moved to UTC
        return None
    return parsed if EARLIEST <= parsed < LATEST else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_field(key: str, spec: MetaField, value: Any) -> dict[str, str] | None:
    if spec.kind == "text" and not (isinstance(value, str) and len(value) <= spec.max_length):
        return message(META_TEXT, limit=spec.max_length)
    if spec.kind == "flag" and not isinstance(value, bool):
        return message(META_FLAG)
    if spec.kind == "timestamp" and parse_timestamp(value) is None:
        return message(META_TIMESTAMP)
    if spec.kind == "seconds" and not (_number(value) and abs(value) <= MAX_DURATION_S):
        return message(META_SECONDS)
    if spec.kind == "gps" and not (isinstance(value, dict) and set(value) <= GPS_KEYS
                                   and all(v is None or _number(v) for v in value.values())):
        return message(META_GPS)
    return None


def check_meta(meta: Any) -> Paradata:
    """``meta`` against :data:`META_SCHEMA`; the GPS fix is left for :func:`web.privacy.location_from_meta`."""
    result = Paradata()
    if meta is None:
        return result
    if not isinstance(meta, dict):
        result.problems["meta"] = message(META_UNKNOWN)
        return result
    if len(json.dumps(meta, ensure_ascii=False).encode()) > MAX_META_BYTES:
        result.problems["meta"] = message(META_TOO_LARGE)
        return result
    for key, value in meta.items():
        spec = META_SCHEMA.get(key)
        if spec is None:
            result.problems[f"meta.{key}"] = message(META_LOCATION if is_location_key(key) else META_UNKNOWN)
            continue
        if spec.kind == "gps" and meta.get("gps_consent") is not True:
            continue  # without consent a position is dropped unread
        problem = _check_field(key, spec, value)
        if problem is not None:
            result.problems[f"meta.{key}"] = problem
        elif spec.kind != "gps":
            result.stored[key] = value
    if not result.problems:
        result.started_at = parse_timestamp(meta.get("started_at"))
        result.ended_at = parse_timestamp(meta.get("ended_at"))
        result.stored["gps_consent"] = meta.get("gps_consent") is True
    return result

"""The API's request bodies as pydantic models: one definition checks a body and describes it.

:class:`Submission` (``POST /api/v1/submissions``) and :class:`Visit` (``POST /api/v1/visits``) are
validated here, and the OpenAPI document (:mod:`web.api.openapi`) takes their schemas from
``model_json_schema``, so the description cannot drift from the check. Before a model sees it, a body
is read strictly and checked for values no database keeps (:mod:`web.api.validation`), which no
schema language expresses.

A refusal keeps the API's one shape, ``{"errors": {field: {language: message}}}`` (web/errors.py):
each pydantic error is looked up by its place in the body (and, in ``meta``, its type) in
:data:`SUBMISSION_MESSAGES`, which gives the field to name, the catalogued message and the step of
the submission at which it is reported (the order of the checks, and so the status, are those the
offline app relies on: a bad outline is a 400 or 422 at once, wrong answers and paradata a 422
after the survey version is found).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from flask import Request
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from surveys import areas
from web.api import validation
from web.api.households import HOUSEHOLD
from web.api.validation import Messages, message
from web.client_times import parse_timestamp
from web.i18n import lazy_gettext

UUID_PATTERN = r"^[A-Za-z0-9:_-]{8,64}$"
MAX_META_BYTES = 4096
#: an interview paused for weeks is odd, longer is nonsense; a phone whose clock was set back during
#: an interview counts a negative time, which is accepted (and flagged in quality review), not refused
MAX_DURATION_S = 30 * 24 * 3600

UUID_MESSAGE = lazy_gettext("A valid 'uuid' (8 to 64 letters, digits, '-', '_' or ':') is required.")
SURVEY_MESSAGE = lazy_gettext("'survey' (a name) and 'version' (a number) are required.")
OBJECTS_MESSAGE = lazy_gettext("'answers' and 'meta' must be JSON objects.")
CONFLICT_OF = lazy_gettext("'conflict_of' must be another response's 'uuid'.")
OLD_WARD_LIST = lazy_gettext("The ward list on this device is out of date, so a ward code may name another ward. "
                             "Reload the app, check the interview's ward and send it again.")
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


def _timestamp(value: str) -> str:
    if parse_timestamp(value) is None:
        raise PydanticCustomError("timestamp", "an ISO 8601 date and time between 1970 and 2100")
    return value


#: kept as sent (the stored paradata are the phone's own text), checked by :func:`parse_timestamp`
Timestamp = Annotated[str, Field(max_length=40, json_schema_extra={"format": "date-time"}),
                      AfterValidator(_timestamp)]
Seconds = Annotated[float, Field(ge=-MAX_DURATION_S, le=MAX_DURATION_S)]


# A field typed without None and defaulting to None: absent is fine, an explicit null is refused.
class GpsFix(BaseModel):
    """A GPS fix, kept apart from the answers (for admins only), and only with the respondent's consent."""

    model_config = ConfigDict(strict=True, extra="forbid")
    lat: float | None = Field(None, description="latitude, -90 to 90")
    lon: float | None = Field(None, description="longitude, -180 to 180")
    accuracy_m: float | None = Field(None, description="accuracy in metres")


class Paradata(BaseModel):
    """``meta``: how the interview went, as the collection app (web/static/collect.js) sends it; any other
    key is refused, and a position is accepted only under ``gps``, with ``gps_consent: true``."""

    model_config = ConfigDict(strict=True, extra="forbid")
    started_at: Timestamp = None
    ended_at: Timestamp = None
    duration_s: Seconds = Field(None, description="the app's count of the interview's length")
    channel: Annotated[str, Field(max_length=16)] = None
    language: Annotated[str, Field(max_length=8)] = None
    volunteer: Annotated[str, Field(max_length=64)] = None
    app_version: Annotated[str, Field(max_length=32)] = None
    gps_consent: bool = None
    gps: GpsFix = Field(None, description="dropped unread without `gps_consent: true`")

    @model_validator(mode="before")
    @classmethod
    def _bounded_and_consented(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if len(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")) > MAX_META_BYTES:
            raise PydanticCustomError("meta_too_large", "paradata over {limit} bytes", {"limit": MAX_META_BYTES})
        if "gps" in data and data.get("gps_consent") is not True:
            return {k: v for k, v in data.items() if k != "gps"}  # without consent a position is dropped unread
        return data


class Adult(BaseModel):
    """An adult of the household as the rule reads them (no name leaves the phone; nothing here is stored)."""

    model_config = ConfigDict(strict=True)
    sex: Literal["1", "2"] = Field(description="'1' male, '2' female")
    age: int = Field(ge=0, le=130)
    birthday: str | None = Field(None, max_length=5, description="MM-DD, for the last-birthday rule")


class Household(BaseModel):
    """A sampled household assigned to the volunteer, with its adults as listed on the doorstep and the
    adult its rule chose; the server chooses again from the same list (:mod:`web.api.households`) and
    refuses another adult or probability, so these members are only described here, not judged."""

    model_config = ConfigDict(strict=True)
    id: int = Field(description="the sampled household's id")
    adults: list[Adult] = Field(min_length=1, max_length=30)
    on: str | None = Field(None, json_schema_extra={"format": "date"},
                           description="the local date the adults were listed")
    selected: Any = Field(None, description="the index in `adults` of the adult the household's rule chose")
    probability: Any = Field(None, description="that adult's probability of selection within the household")


class Submission(BaseModel):
    """A response: idempotent on ``uuid``; unknown members are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")
    uuid: str = Field(pattern=UUID_PATTERN, description="the client's id of this response")
    survey: str = Field(min_length=1, max_length=64, description="the survey's slug")
    version: int = Field(gt=0, lt=2**31, description="the version the interview answered")
    answers: dict[str, Any] = Field(description="question name -> answer (codes for choices)")
    meta: Paradata = Field(default_factory=Paradata, description=f"paradata, at most {MAX_META_BYTES} bytes")
    conflict_of: str | None = Field(None, pattern=UUID_PATTERN,
                                    description="keep both: the uuid of the response this one clashed with")
    area_codes: Literal[areas.CODE_LIST] = Field(areas.CODE_LIST, description="the ward code list the app "
                                                 "used: another (an app not reloaded since) is a 422")
    household: Household | None = Field(None, description="for a sampled household: the interview's design")

    @field_validator("conflict_of")
    @classmethod
    def _another_response(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("uuid"):
            raise PydanticCustomError("same_uuid", "conflict_of names this response itself")
        return value


class Visit(BaseModel):
    """A visit to a sampled household assigned to the volunteer: its AAPOR outcome and a callback; stored once
    by its ``uuid``."""

    model_config = ConfigDict(strict=True)
    uuid: str = Field(pattern=UUID_PATTERN, description="the phone's id of this visit")
    household: int = Field(description="a sampled household assigned to you")
    code: str = Field(description="AAPOR disposition: 1.1 interview, 1.2 partial, 2.11 refusal, 2.12 break-off, "
                                  "2.21-2.25 non-contact, 2.31-2.35 other, 3.11-3.90 unknown eligibility, "
                                  "4.10-4.70 not eligible")
    visited_at: Timestamp | None = None
    callback_at: Timestamp | None = Field(None, description="set: a callback, the outcome is not final")
    note: str = ""


#: when a problem is reported: with the outline (at once), before the survey is looked up, with the
#: answers, or once the household is looked up
OUTLINE, BEFORE_LOOKUP, WITH_ANSWERS, HOUSEHOLD_STEP = "outline", "before_lookup", "with_answers", "household"
#: a body member -> (the field named, its message, when it is reported)
SUBMISSION_MESSAGES = {
    "uuid": ("uuid", UUID_MESSAGE, OUTLINE),
    "survey": ("survey", SURVEY_MESSAGE, OUTLINE),
    "version": ("survey", SURVEY_MESSAGE, OUTLINE),
    "answers": ("answers", OBJECTS_MESSAGE, OUTLINE),
    "meta": ("meta", OBJECTS_MESSAGE, OUTLINE),
    "conflict_of": ("conflict_of", CONFLICT_OF, BEFORE_LOOKUP),
    "area_codes": ("area_codes", OLD_WARD_LIST, BEFORE_LOOKUP),
    "household": ("household", HOUSEHOLD, HOUSEHOLD_STEP),
}
#: a paradata field's kind -> its message
META_MESSAGES = {"started_at": META_TIMESTAMP, "ended_at": META_TIMESTAMP, "duration_s": META_SECONDS,
                 "gps_consent": META_FLAG, "gps": META_GPS}


@dataclass
class CheckedMeta:
    """``meta`` once checked: what may be stored, the parsed times, and its problems."""

    stored: dict[str, Any] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    problems: Messages = field(default_factory=dict)


@dataclass
class CheckedSubmission:
    """A submission's body and its problems, by the step at which each is reported."""

    body: Any
    problems: dict[str, Messages] = field(default_factory=dict)
    meta: CheckedMeta = field(default_factory=CheckedMeta)

    def at(self, step: str) -> Messages:
        return self.problems.get(step, {})


def read_submission(request: Request) -> CheckedSubmission:
    """The submission in ``request``, checked (a body over the size limit raises Werkzeug's 413)."""
    try:
        body = validation.read_body(request)
    except validation.BadBody as exc:
        return CheckedSubmission(None, {OUTLINE: {"_": message(exc.message)}})
    checked = CheckedSubmission(body)
    if not isinstance(body, dict):
        checked.problems[OUTLINE] = {"_": message(validation.NOT_JSON)}
        return checked
    outline = validation.storable(body, request.get_data(cache=True))
    try:
        Submission.model_validate(body)
    except ValidationError as exc:
        _sort_errors(checked, exc, outline)
    if outline:
        checked.problems[OUTLINE] = outline
    meta = body.get("meta") or {}
    if not checked.meta.problems and isinstance(meta, dict):
        checked.meta.stored = {k: v for k, v in meta.items() if k != "gps"}
        checked.meta.stored["gps_consent"] = meta.get("gps_consent") is True
        checked.meta.started_at = parse_timestamp(meta.get("started_at"))
        checked.meta.ended_at = parse_timestamp(meta.get("ended_at"))
    return checked


def _sort_errors(checked: CheckedSubmission, exc: ValidationError, outline: Messages) -> None:
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = tuple(str(part) for part in error["loc"])
        if loc[0] == "meta" and (len(loc) > 1 or error["type"] == "meta_too_large"):
            name, problem = _meta_problem(loc, error["type"])
            checked.meta.problems.setdefault(name, problem)
            continue
        name, text, step = SUBMISSION_MESSAGES[loc[0]]
        target = outline if step == OUTLINE else checked.problems.setdefault(step, {})
        target.setdefault(name, message(text))


def _meta_problem(loc: tuple[str, ...], kind: str) -> tuple[str, dict[str, str]]:
    """The field and message of a problem in ``meta``: its size, an unknown key, or a bad value."""
    if kind == "meta_too_large":
        return "meta", message(META_TOO_LARGE)
    key = loc[1]
    if kind == "extra_forbidden":
        return f"meta.{key}", message(META_LOCATION if validation.is_location_key(key) else META_UNKNOWN)
    if key in META_MESSAGES:
        return f"meta.{key}", message(META_MESSAGES[key])
    limit = next(m.max_length for m in Paradata.model_fields[key].metadata if hasattr(m, "max_length"))
    return f"meta.{key}", message(META_TEXT, limit=limit)


def is_uuid(value: Any) -> bool:
    """Whether ``value`` is a client's id of a response or a visit (:data:`UUID_PATTERN`)."""
    return isinstance(value, str) and re.match(UUID_PATTERN, value) is not None


def read_visit(body: Any) -> Visit | None:
    """A visit's body checked by :class:`Visit`; None when it is not one."""
    try:
        return Visit.model_validate(body)
    except ValidationError:
        return None

"""Storing finished responses: checked by the instrument, scored, stored once and never lost.

Paradata (start and end time, duration, channel, language, volunteer, app version) goes with the
response; a consented GPS fix goes to ``personal_details`` in the same transaction, never into
the answers or the paradata.

The response's ``uuid`` is unique in the database. A retry with the same content returns the
stored response; the same ``uuid`` with different content, or from another volunteer, is a
conflict. The unique constraint decides, not a check-then-insert, so two simultaneous retries still
make one row. A submission is one statement (:func:`insert`): SQLAlchemy Core rather than the ORM,
because the unit of work's flush, identity map and refresh cost more than the insert itself under load
(bench/submissions_load.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import bindparam, select
from sqlmodel import Session

import surveys
from surveys.questions import split_personal
from web import db
from web.client_times import parse_timestamp
from web.models import PersonalDetails, Response, SurveyVersion
from web.models.base import as_loaded

_TABLE = Response.__table__


@dataclass
class Outcome:
    response: Response
    created: bool  #: False when an identical submission was already stored
    conflict: bool = False  #: True when the uuid is known with different content or from someone else


def content_hash(version_id: int, answers: dict[str, Any], extra: dict[str, Any]) -> str:
    payload = json.dumps([version_id, answers, extra], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def columns(
    version: SurveyVersion,
    instrument: surveys.Instrument,
    uuid: str,
    values: dict[str, Any],
    *,
    channel: str,
    language: str,
    meta: dict[str, Any] | None = None,
    started_at: dt.datetime | None = None,
    volunteer_id: int | None = None,
    stratum: str | None = None,
    psu: str | None = None,
    base_weight: float = 1.0,
    conflict_of: str | None = None,
    erase_code: str | None = None,
    is_test: bool = False,
) -> dict[str, Any]:
    """The stored values of a new response for already-checked ``values``, scored by the instrument
    (the other columns take their defaults)."""
    ward = values.get("ward")
    meta = meta or {}
    return dict(
        uuid=uuid,
        survey_version_id=version.id,
        ward_code=ward if isinstance(ward, int) else None,
        channel=channel,
        language=language,
        answers=values,
        scores=surveys.score(instrument, values),
        meta=meta,
        content_hash=content_hash(version.id, values, {"channel": channel, "ward": ward}),
        stratum=stratum,
        psu=psu,
        base_weight=base_weight,
        volunteer_id=volunteer_id,
        started_at=started_at,
        ended_at=parse_timestamp(meta.get("ended_at")),
        conflict_of=conflict_of,
        erase_code=erase_code,
        is_test=is_test,
    )


def build(version: SurveyVersion, instrument: surveys.Instrument, uuid: str, values: dict[str, Any],
          **fields: Any) -> Response:
    """A new, unsaved response for already-checked ``values`` (``fields``: those of :func:`columns`)."""
    return Response(**columns(version, instrument, uuid, values, **fields))


def new_row(version: SurveyVersion, instrument: surveys.Instrument, uuid: str, values: dict[str, Any],
            **fields: Any) -> dict[str, Any]:
    """The row :func:`insert` stores for already-checked ``values``, but its id, for :func:`store_rows`."""
    return _row(columns(version, instrument, uuid, values, **fields))


def store_rows(session: Session, rows: list[dict[str, Any]]) -> int:
    """Add many new responses (rows of :func:`new_row`) in one statement, without committing; how many. The
    demo stores thousands so: a :class:`Response` each, and the ORM's flush, took a quarter of its seeding."""
    if rows:
        session.connection().execute(_TABLE.insert(), rows)
    return len(rows)


def _row(values: dict[str, Any]) -> dict[str, Any]:
    """Every column of a new response but its id: ``values``, and the model's defaults for the others."""
    defaults = _defaults()
    row = {key: factory() if factory else default for key, (default, factory) in defaults.items()}
    row.update(values)
    return row


@functools.cache
def _defaults() -> dict[str, tuple[Any, Any]]:
    """Column -> (default, default factory) of :class:`Response`, but the id."""
    fields = Response.model_fields
    out = {}
    for column in _TABLE.columns:
        if column.key != "id":
            field = fields[column.key]
            default = None if field.default is PydanticUndefined else field.default
            out[column.key] = (default, field.default_factory)
    return out


def paradata(meta: dict[str, Any], started_at: dt.datetime | None, ended_at: dt.datetime | None) -> dict[str, Any]:
    """``meta`` with the interview's ``duration_s`` filled in from its start and end, when both are known."""
    if "duration_s" not in meta and started_at is not None and ended_at is not None:
        seconds = (ended_at - started_at).total_seconds()
        if seconds >= 0:
            meta = {**meta, "duration_s": round(seconds)}
    return meta


@functools.cache
def _stored_statement():
    """What a retry is told apart from a clash by: the stored response with a ``uuid``, built once."""
    return select(_TABLE.c.id, _TABLE.c.submitted_at, _TABLE.c.content_hash, _TABLE.c.volunteer_id).where(
        _TABLE.c.uuid == bindparam("uuid"))


def insert(session: Session, version: SurveyVersion, instrument: surveys.Instrument, uuid: str,
           values: dict[str, Any], *, personal: dict[str, Any] | None = None, **fields: Any) -> Outcome:
    """Add already-checked ``values`` as one response to the session's transaction, without committing.

    One ``INSERT … ON CONFLICT (uuid) DO NOTHING RETURNING`` statement: the unique constraint decides
    whether the response is new, so two simultaneous retries still make one row, and a retry costs
    one more read (the stored response's hash and volunteer), never a failed transaction.
    ``personal`` (already-checked :class:`PersonalDetails` fields, such as a consented GPS fix) is
    stored with a new response; a retry of a stored response keeps the first. Answers to
    personal-data questions (phone, e-mail) join ``personal`` and never the answers.
    """
    values, contact = split_personal(instrument, values)
    personal = {**(personal or {}), **contact} or None
    row = new_row(version, instrument, uuid, values, **fields)
    conn = session.connection()  # Core statements: the session's own execute adds a third to each
    stored = conn.execute(db.insert_new(session, _TABLE, "uuid", returning=("id",)), row).first()
    if stored is None:
        existing = conn.execute(_stored_statement(), {"uuid": uuid}).one()
        # a uuid another volunteer sent is theirs: a conflict, whatever the content, so nobody learns its id
        clash = existing.content_hash != row["content_hash"] or existing.volunteer_id != row["volunteer_id"]
        response = as_loaded(Response, {**row, "id": existing.id, "submitted_at": existing.submitted_at})
        return Outcome(response, created=False, conflict=clash)
    response = as_loaded(Response, {**row, "id": stored.id})
    if personal:
        conn.execute(PersonalDetails.__table__.insert().values(response_id=response.id, **personal))
    return Outcome(response, created=True)

"""Storing finished responses: checked by the instrument, scored, stored once and never lost.

Paradata (start and end time, duration, channel, language, volunteer, app version) goes with the
response; a consented GPS fix goes to ``personal_details`` in the same transaction, never into
the answers or the paradata.

The response's ``uuid`` is unique in the database. A retry with the same content returns the
stored response; the same ``uuid`` with different content, or from another volunteer, is a
conflict. The unique constraint decides, not a check-then-insert, so two simultaneous retries still
make one row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import surveys
from web.models import PersonalDetails, Response, SurveyVersion


@dataclass
class Outcome:
    response: Response
    created: bool  #: False when an identical submission was already stored
    conflict: bool = False  #: True when the uuid is known with different content or from someone else


def content_hash(version_id: int, answers: dict[str, Any], extra: dict[str, Any]) -> str:
    payload = json.dumps([version_id, answers, extra], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def build(
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
) -> Outcome:
    """A new, unsaved response for already-checked ``values``, scored by the instrument."""
    ward = values.get("ward")
    digest = content_hash(version.id, values, {"channel": channel, "ward": ward})
    return Response(
        uuid=uuid,
        survey_version_id=version.id,
        ward_code=ward if isinstance(ward, int) else None,
        channel=channel,
        language=language,
        answers=values,
        scores=surveys.score(instrument, values),
        meta=meta or {},
        content_hash=digest,
        stratum=stratum,
        psu=psu,
        base_weight=base_weight,
        volunteer_id=volunteer_id,
        started_at=started_at,
        conflict_of=conflict_of,
    )


def paradata(meta: dict[str, Any], started_at: dt.datetime | None, ended_at: dt.datetime | None) -> dict[str, Any]:
    """``meta`` with the interview's ``duration_s`` filled in from its start and end, when both are known."""
    if "duration_s" not in meta and started_at is not None and ended_at is not None:
        seconds = (ended_at - started_at).total_seconds()
        if seconds >= 0:
            meta = {**meta, "duration_s": round(seconds)}
    return meta


def store(session: Session, version: SurveyVersion, instrument: surveys.Instrument, uuid: str,
          values: dict[str, Any], *, personal: dict[str, Any] | None = None, **fields: Any) -> Outcome:
    """Store already-checked ``values`` as one response, in one transaction (see :func:`build`).

    ``personal`` (already-checked :class:`PersonalDetails` fields, such as a consented GPS fix) is
    stored with a new response in the same transaction; a retry of a stored response keeps the first.
    """
    response = build(version, instrument, uuid, values, **fields)
    session.add(response)
    try:
        if personal:
            session.flush()
            session.add(PersonalDetails(response_id=response.id, **personal))
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.exec(select(Response).where(Response.uuid == uuid)).first()
        if existing is None:
            raise
        # a uuid another volunteer sent is theirs: a conflict, whatever the content, so nobody learns its id
        clash = existing.content_hash != response.content_hash or existing.volunteer_id != response.volunteer_id
        return Outcome(existing, created=False, conflict=clash)
    return Outcome(response, created=True)

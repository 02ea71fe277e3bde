"""Storing, erasing and purging personal details; erasing responses (always logged, never with content)."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from typing import Any

from sqlmodel import Session, delete, select

from web import audit, db
from web.models import Draft, PersonalDetails, Response
from web.models.base import utcnow

#: no 0/O, 1/I/L: easy to read aloud and type on a phone (as resume codes)
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LIMITS = {"full_name": 200, "phone": 40, "address": 500}
#: a fix less precise than this (metres) says nothing about where the interview was
MAX_ACCURACY_M = 100_000
#: paradata keys that could carry a position; they never stay in a response's ``meta``
LOCATION_KEYS = frozenset({"gps", "lat", "lon", "lng", "latitude", "longitude", "accuracy", "accuracy_m", "location"})


def new_erase_code() -> str:
    """A short code the respondent keeps to erase a finished response (10 characters, ~49 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(10))


def _clean_text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    value = " ".join(value.split())
    if len(value) > LIMITS[name]:
        raise ValueError(f"{name} is longer than {LIMITS[name]} characters")
    return value or None


def _coordinate(value: float | None, bound: float, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or abs(value) > bound:
        raise ValueError(f"{name} must be a number between -{bound} and {bound}")
    return float(value)


def _accuracy(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= MAX_ACCURACY_M:
        raise ValueError(f"accuracy_m must be a number of metres between 0 and {MAX_ACCURACY_M}")
    return float(value)


def location_from_meta(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The consented GPS fix in a submission's paradata, as :class:`PersonalDetails` fields, or None.

    ``meta["gps"]`` is ``{"lat": …, "lon": …, "accuracy_m": …}`` (accuracy optional). It counts only
    when ``meta["gps_consent"]`` is exactly ``true``; without consent it is dropped, even when
    malformed. With consent, a malformed fix raises ``ValueError``.
    """
    gps = meta.get("gps")
    if meta.get("gps_consent") is not True or gps is None:
        return None
    if not isinstance(gps, dict):
        raise ValueError("gps must be an object with lat, lon and accuracy_m")
    if gps.get("lat") is None or gps.get("lon") is None:
        raise ValueError("gps needs both lat and lon")
    return {"latitude": _coordinate(gps["lat"], 90, "lat"), "longitude": _coordinate(gps["lon"], 180, "lon"),
            "accuracy_m": _accuracy(gps.get("accuracy_m")), "location_consent": True}


def store_personal(session: Session, response_id: int, *, full_name: str | None = None,
                   phone: str | None = None, address: str | None = None, latitude: float | None = None,
                   longitude: float | None = None, accuracy_m: float | None = None,
                   location_consent: bool = False, commit: bool = True) -> PersonalDetails:
    """Keep a respondent's contact details and location for ``response_id``, apart from the answers.

    The GPS position is kept only with ``location_consent``; without it, it is dropped. Replaces any
    details already stored for that response. Raises ``ValueError`` for malformed values.
    """
    values = {name: _clean_text(name, value) for name, value in
              (("full_name", full_name), ("phone", phone), ("address", address))}
    lat = _coordinate(latitude, 90, "latitude")
    lon = _coordinate(longitude, 180, "longitude")
    accuracy = _accuracy(accuracy_m)
    if (lat is None) != (lon is None):
        raise ValueError("latitude and longitude go together")
    if not location_consent or lat is None:
        lat = lon = accuracy = None
    if session.get(Response, response_id) is None:
        raise ValueError(f"there is no response {response_id}")
    details = personal_details_of(session, response_id) or PersonalDetails(response_id=response_id)
    for name, value in values.items():
        setattr(details, name, value)
    details.latitude, details.longitude, details.accuracy_m = lat, lon, accuracy
    details.location_consent = bool(location_consent)
    session.add(details)
    if commit:
        session.commit()
    return details


def personal_details_of(session: Session, response_id: int) -> PersonalDetails | None:
    return session.exec(select(PersonalDetails).where(PersonalDetails.response_id == response_id)).first()


def erase_response(session: Session, response: Response, *, by: str) -> None:
    """Delete a response and its personal details; log who asked (``by``: "admin" or "respondent")."""
    response_id = response.id
    facts = {"by": by, "channel": response.channel, "survey_version_id": response.survey_version_id}
    audit.record("response_erased", target=f"response {response_id}", detail=facts, session=session,
                 commit=False)
    session.exec(delete(PersonalDetails).where(PersonalDetails.response_id == response_id))
    session.delete(response)
    session.commit()
    db.forget_erased()


def _normalise(code: str) -> str:
    return code.strip().upper().replace(" ", "").replace("-", "")


def erase_by_code(session: Session, code: str) -> str | None:
    """Erase the draft with this resume code or the response with this erase code.

    Returns ``"draft"`` or ``"response"`` for what was erased, or None when the code matches nothing.
    """
    code = _normalise(code or "")
    if not code or len(code) > 16:
        return None
    draft = session.exec(select(Draft).where(Draft.resume_code == code)).first()
    if draft is not None:
        audit.record("draft_erased", target=f"draft {draft.id}", detail={"by": "respondent"}, session=session,
                     commit=False)
        session.delete(draft)
        session.commit()
        db.forget_erased()
        return "draft"
    response = session.exec(select(Response).where(Response.erase_code == code)).first()
    if response is not None:
        erase_response(session, response, by="respondent")
        return "response"
    return None


def purge_contacts(session: Session, *, retention_days: int, fieldwork_end: dt.date | None = None,
                   now: dt.datetime | None = None) -> int:
    """Delete contact details past their retention; returns how many were deleted.

    With ``fieldwork_end``, every record goes ``retention_days`` after that date (and none before);
    without it, each record goes ``retention_days`` after it was stored.
    """
    now = now or utcnow()
    if fieldwork_end is not None:
        deadline = dt.datetime.combine(fieldwork_end, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=retention_days)
        if now < deadline:
            return 0
        condition = PersonalDetails.id.is_not(None)
    else:
        condition = PersonalDetails.created_at < now - dt.timedelta(days=retention_days)
    ids = list(session.exec(select(PersonalDetails.id).where(condition)).all())
    if ids:
        session.exec(delete(PersonalDetails).where(PersonalDetails.id.in_(ids)))
    audit.record("contacts_purged", detail={"count": len(ids), "retention_days": retention_days},
                 actor_name="khaosat purge-contacts", session=session, commit=False)
    session.commit()
    db.forget_erased()
    return len(ids)

"""Reviewing stored responses: the review status (as KoboToolbox's validation status), corrections of
answers with their history, and the quality flags stored when a response arrives.

A rejected response leaves every estimate and export at once: ``is_excluded`` follows the status (the
one column :mod:`web.tables` reads), and every change calls :func:`web.tables.responses_changed`.
A correction never touches ``content_hash``, so a phone retrying the original submission still gets 200.
Every decision and correction is in the audit log.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

import surveys
from web import audit, db
from web.catalog import instrument_of
from web.models import (
    Response,
    ResponseEdit,
    ResponseFlag,
    ReviewStatus,
    Survey,
    SurveyVersion,
    User,
    WardAssignment,
)
from web.models.base import utcnow
from web.quality import Flag, flag_responses, flags_on_arrival
from web.tables import responses_changed

log = logging.getLogger(__name__)
MAX_NOTE = 500


def _slugs(session: Session, ids) -> list[str]:
    return list(session.exec(select(Survey.slug).distinct()
                             .join(SurveyVersion, SurveyVersion.survey_id == Survey.id)
                             .join(Response, Response.survey_version_id == SurveyVersion.id)
                             .where(Response.id.in_(ids))).all())


def set_status(session: Session, ids, status: ReviewStatus, note: str | None, actor: User,
               detail: dict[str, Any] | None = None) -> int:
    """Give the responses ``ids`` (a list or a ``select`` of ids) a review ``status`` and ``note``, in
    one statement; returns how many. The audit event names one response, or counts a bulk action."""
    ids = ids if not isinstance(ids, list) else ids or [-1]
    versions = list(session.exec(select(Response.survey_version_id).where(Response.id.in_(ids)).distinct()).all())
    result = session.exec(update(Response).where(Response.id.in_(ids)).values(
        review_status=status.value, review_note=(note or "").strip()[:MAX_NOTE] or None,
        is_excluded=status == ReviewStatus.rejected, reviewed_by=actor.id, reviewed_at=utcnow())
        .execution_options(synchronize_session=False))
    count = result.rowcount
    target = f"response {ids[0]}" if isinstance(ids, list) and len(ids) == 1 else f"{count} responses"
    audit.record("response_reviewed", target=target, actor=actor, session=session, commit=False,
                 detail={"status": status.value, "count": count, **(detail or {})})
    responses_changed(session, survey_version_ids=versions)  # a bulk UPDATE: the caches must be told
    session.commit()
    session.expire_all()
    return count


def _ward(values: dict[str, Any]) -> int | None:
    ward = values.get("ward")
    return ward if isinstance(ward, int) and not isinstance(ward, bool) else None


def correct(session: Session, response: Response, instrument: surveys.Instrument, question: str, raw: Any,
            reason: str, actor: User) -> tuple[dict[str, tuple[Any, Any]], dict[str, dict[str, str]]]:
    """Correct one answer: the whole response is checked again by the instrument (skip logic may drop
    or compute others) and scored again. Returns (changed: name -> (old, new), errors); on errors
    nothing changes. Each changed answer becomes one :class:`ResponseEdit` of the new revision."""
    answers = {k: v for k, v in response.answers.items() if k != question}
    if raw not in (None, "", []):
        answers[question] = raw
    checked = surveys.check(instrument, answers)
    if not checked.ok:
        return {}, checked.errors
    old = response.answers
    changed = {k: (old.get(k), checked.values.get(k)) for k in sorted(set(old) | set(checked.values))
               if old.get(k) != checked.values.get(k)}
    if not changed:
        return {}, {}
    response.revision = (response.revision or 0) + 1
    for name, (before, after) in changed.items():
        session.add(ResponseEdit(response_id=response.id, revision=response.revision, question=name,
                                 old_value=before, new_value=after, reason=reason.strip()[:MAX_NOTE],
                                 editor_id=actor.id, editor_name=actor.username))
    response.answers = dict(checked.values)
    response.scores = surveys.score(instrument, checked.values)
    response.ward_code = _ward(checked.values)
    session.add(response)
    audit.record("response_edited", target=f"response {response.id}", actor=actor, session=session, commit=False,
                 detail={"questions": sorted(changed), "revision": response.revision})
    session.commit()  # an ORM change: the flush tells the caches (web.tables.watch_changes)
    return changed, {}


def history(session: Session, response_id: int) -> list[ResponseEdit]:
    """Every correction of a response, newest first."""
    return list(session.exec(select(ResponseEdit).where(ResponseEdit.response_id == response_id)
                             .order_by(ResponseEdit.revision.desc(), ResponseEdit.question)).all())


def flags_of(session: Session, response_id: int) -> list[str]:
    return list(session.exec(select(ResponseFlag.flag).where(ResponseFlag.response_id == response_id)
                             .order_by(ResponseFlag.flag)).all())


def assigned_wards(session: Session, user_id: int) -> set[int]:
    return set(session.exec(select(WardAssignment.ward_code).where(WardAssignment.user_id == user_id)).all())


def arrival_flags(session: Session, response: Response, instruments: dict[int, surveys.Instrument],
                  min_seconds: float, volunteer: User | None = None) -> list[str]:
    """Compute the quality flags of a response that has just been stored (and those it gives the same
    volunteer's earlier responses) and add them to the session's transaction, uncommitted; a volunteer's
    interview in a ward outside the wards assigned to them is flagged ``outside_assignment`` (a volunteer
    with no assignment is not judged). A database error is raised: the caller's transaction fails whole."""
    found = flags_on_arrival(session, response, instruments, min_seconds,
                             judge_wards=volunteer is not None and volunteer.role == "volunteer")
    store_flags(session, found)
    return sorted(str(f) for f in found.get(response.id, []))


def record_flags(session: Session, response: Response, instruments: dict[int, surveys.Instrument],
                 min_seconds: float, volunteer: User | None = None) -> list[str]:
    """:func:`arrival_flags` for a response already committed, in a transaction of their own. The response
    is already acknowledged: a failure here is logged, never raised."""
    try:
        flags = arrival_flags(session, response, instruments, min_seconds, volunteer)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.exception("quality flags of response %s not stored", response.id)
        return []
    return flags


def flag_stored(session: Session, min_seconds: float, chunk: int = 2000) -> int:
    """Compute and store the flags of every stored response (those that arrived before flags were kept,
    or the demo's): one volunteer's responses at a time, the others in chunks; returns how many are flagged."""
    instruments = {v.id: instrument_of(v) for v in session.exec(select(SurveyVersion)).all()}
    roles = dict(session.exec(select(User.id, User.role)).all())
    flagged = 0
    for volunteer in session.exec(select(Response.volunteer_id).distinct()).all():
        wards = assigned_wards(session, volunteer) if roles.get(volunteer) == "volunteer" else set()
        last = 0
        while True:
            responses = list(session.exec(select(Response).where(
                Response.volunteer_id == volunteer if volunteer is not None else Response.volunteer_id.is_(None),
                Response.id > last).order_by(Response.id).limit(chunk if volunteer is None else None)).all())
            if not responses:
                break
            found = {f.response.id: f.flags for f in flag_responses(responses, instruments, min_seconds)}
            for response in responses:
                if wards and response.ward_code is not None and response.ward_code not in wards:
                    found.setdefault(response.id, []).append(Flag.outside_assignment)
            store_flags(session, found)
            session.commit()
            flagged += len(found)
            last = responses[-1].id
            session.expunge_all()
    return flagged


def store_flags(session: Session, found: dict[int, list]) -> None:
    """Add the flags ``found`` (response id -> flags) that are not stored yet, in one statement (uncommitted)."""
    rows = [{"response_id": rid, "flag": flag, "created_at": utcnow()}
            for rid, flags in found.items() for flag in dict.fromkeys(str(f) for f in flags)]
    if rows:  # with RETURNING, SQLAlchemy sends the rows as one multi-row statement (per 1,000), compiled once
        session.connection().execute(
            db.insert_new(session, ResponseFlag.__table__, "response_id", "flag", returning=("id",)), rows)

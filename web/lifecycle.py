"""A survey version's life: draft -> preview -> open -> closed -> archived, every step in the audit log.

An upload is a ``draft``, never public. ``preview`` lets staff walk its real pages (their answers are
stored as tests). ``open`` takes responses, between optional dates; at most one version of a survey
is open, so opening one closes the other. ``closed`` takes no new responses, but an interview begun
on a phone before the version closed is still accepted (:func:`accepts_interview`), so nothing
acknowledged or queued is lost. ``archived`` hides the version from lists and keeps its responses.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from web import audit
from web.models import Survey, SurveyVersion
from web.models.base import utcnow
from web.models.surveys import VersionState

S = VersionState
#: the states each state may move to
ALLOWED: dict[VersionState, tuple[VersionState, ...]] = {
    S.draft: (S.preview, S.open, S.archived),
    S.preview: (S.draft, S.open, S.archived),
    S.open: (S.closed,),
    S.closed: (S.open, S.archived),
    S.archived: (S.closed,),
}
#: the audit action of moving into each state
ACTIONS = {S.draft: "survey_back_to_draft", S.preview: "survey_previewed", S.open: "survey_published",
           S.closed: "survey_closed", S.archived: "survey_archived"}


class NotAllowed(Exception):
    """A step the lifecycle does not allow (e.g. archiving an open version)."""


def can_move(version: SurveyVersion, to: VersionState) -> bool:
    return to in ALLOWED[version.state]


def change(session: Session, version: SurveyVersion, survey: Survey, to: VersionState, *,
           opens_at: dt.datetime | None = None, closes_at: dt.datetime | None = None,
           actor_name: str | None = None, reason: str | None = None) -> None:
    """Move ``version`` to ``to`` (not committed); opening closes the survey's other open version."""
    before = version.state
    if not can_move(version, to):
        raise NotAllowed(f"{before.value} -> {to.value}")
    now = utcnow()
    if to is S.open:
        for other in session.exec(select(SurveyVersion).where(
                SurveyVersion.survey_id == survey.id, SurveyVersion.status == S.open.value,
                SurveyVersion.id != version.id)).all():
            _set(session, other, survey, S.closed, now, actor_name, f"v{version.version} opened")
        version.published_at = version.published_at or now
        version.opens_at, version.closes_at = opens_at, closes_at
    _set(session, version, survey, to, now, actor_name, reason)


def _set(session: Session, version: SurveyVersion, survey: Survey, to: VersionState, closed: dt.datetime,
         actor_name: str | None, reason: str | None) -> None:
    """Record the step; ``closed`` is when the version stopped taking responses, if it closes now."""
    before = version.state
    if to is S.closed and before is S.open:  # a closing date already passed is when it closed
        version.retired_at = min(closed, _aware(version.closes_at)) if version.closes_at is not None else closed
    version.status = to.value
    session.add(version)
    detail: dict = {"from": before.value, "to": to.value}
    if to is S.open:
        detail.update(opens_at=_iso(version.opens_at), closes_at=_iso(version.closes_at))
    if reason:
        detail["reason"] = reason
    audit.record(ACTIONS[to], target=f"survey {survey.slug} v{version.version}", detail=detail,
                 actor_name=actor_name, session=session, commit=False)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def apply_schedule(session: Session) -> int:
    """Close the open versions whose closing date has passed (each in the audit log); how many."""
    now = utcnow()
    due = session.exec(select(SurveyVersion, Survey).join(Survey, Survey.id == SurveyVersion.survey_id).where(
        SurveyVersion.status == S.open.value, SurveyVersion.closes_at.is_not(None),
        SurveyVersion.closes_at <= now)).all()
    for version, survey in due:
        _set(session, version, survey, S.closed, _aware(version.closes_at), "schedule", "closing date")
    if due:
        session.commit()
    return len(due)


def closed_at(version: SurveyVersion) -> dt.datetime | None:
    """When the version stopped taking responses, if it has (by hand, by date or by a newer version)."""
    if version.state is S.open:
        return _aware(version.closes_at) if version.past_closing(utcnow()) else None
    if version.state in (S.closed, S.archived):
        return _aware(version.retired_at) if version.retired_at is not None else _aware(version.created_at)
    return None


def accepts_interview(version: SurveyVersion, started_at: dt.datetime | None) -> bool:
    """Whether an interview of ``version`` begun at ``started_at`` is accepted: always while the version
    is open, and after it closed only if it was begun before (a phone's queue is never lost)."""
    if version.state is S.open:
        now = utcnow()
        if not version.past_closing(now):
            return not version.before_opening(now)
    ended = closed_at(version)
    return ended is not None and started_at is not None and _aware(started_at) <= ended


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)

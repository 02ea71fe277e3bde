"""The changes an administrator or supervisor makes; each one is committed and written to the audit log."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlmodel import Session, select

from web import area_codes, audit, lifecycle, sessions
from web.auth import hash_password, new_token, renew_token, requesting_user, revoke_token
from web.models import (
    ApiToken,
    Response,
    ReviewStatus,
    Survey,
    SurveyVersion,
    User,
    WardAssignment,
    WardQuota,
)
from web.models.base import utcnow
from web.models.surveys import VersionState
from web.review import set_status


def create_user(session: Session, username: str, role: str, password: str) -> User | None:
    """A new active user, or None when the username is taken."""
    if session.exec(select(User).where(User.username == username)).first() is not None:
        return None
    user = User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record("user_created", target=f"user {user.username}", detail={"role": role}, session=session,
                 commit=False)
    session.commit()
    return user


def set_active(session: Session, user: User, active: bool) -> None:
    user.is_active = active
    session.add(user)
    if not active:
        sessions.end_all(session, user)
    audit.record("user_activated" if active else "user_deactivated", target=f"user {user.username}",
                 session=session, commit=False)
    session.commit()


def change_role(session: Session, user: User, role: str) -> None:
    before = user.role
    user.role = role
    session.add(user)
    if role != before:
        sessions.end_all(session, user)
    audit.record("role_changed", target=f"user {user.username}", detail={"from": before, "to": role},
                 session=session, commit=False)
    session.commit()


def reset_password(session: Session, user: User) -> str:
    """Give ``user`` a new random password, returned once to show to the administrator."""
    password = "-".join(secrets.token_hex(3) for _ in range(3))
    user.password_hash = hash_password(password)
    session.add(user)
    sessions.end_all(session, user)
    audit.record("password_reset", target=f"user {user.username}", session=session, commit=False)
    session.commit()
    return password


def create_token(session: Session, user: User) -> str:
    token = new_token(user)
    audit.record("token_created", target=f"user {user.username}", session=session)
    return token


def renew(session: Session, token: ApiToken) -> None:
    """Another ``KHAOSAT_TOKEN_DAYS`` for a script's token."""
    owner = session.get(User, token.user_id)
    renew_token(token)
    audit.record("token_renewed", target=f"token {token.id}",
                 detail={"user": owner.username if owner else None}, session=session)


def revoke(session: Session, token: ApiToken) -> None:
    owner = session.get(User, token.user_id)
    revoke_token(token)
    audit.record("token_revoked", target=f"token {token.id}",
                 detail={"user": owner.username if owner else None}, session=session)


def assign_ward(session: Session, user: User, ward_code: int) -> bool:
    """Assign ``user`` to a ward; False if already assigned (refused while older ward codes are stored)."""
    area_codes.require_current_fieldwork(session.connection())
    exists = session.exec(select(WardAssignment).where(
        WardAssignment.user_id == user.id, WardAssignment.ward_code == ward_code)).first()
    if exists is not None:
        return False
    session.add(WardAssignment(user_id=user.id, ward_code=ward_code))
    audit.record("ward_assigned", target=f"user {user.username}", detail={"ward_code": ward_code},
                 session=session, commit=False)
    session.commit()
    return True


def unassign_ward(session: Session, assignment: WardAssignment) -> None:
    user = session.get(User, assignment.user_id)
    audit.record("ward_unassigned", target=f"user {user.username if user else assignment.user_id}",
                 detail={"ward_code": assignment.ward_code}, session=session, commit=False)
    session.delete(assignment)
    session.commit()


def set_quota(session: Session, survey: Survey, ward_code: int, target: int) -> WardQuota:
    area_codes.require_current_fieldwork(session.connection())  # a stored code may name another ward
    quota = session.exec(select(WardQuota).where(
        WardQuota.survey_id == survey.id, WardQuota.ward_code == ward_code)).first()
    quota = quota or WardQuota(survey_id=survey.id, ward_code=ward_code, target=target)
    quota.target, quota.updated_at = target, utcnow()
    session.add(quota)
    audit.record("quota_set", target=f"survey {survey.slug}", detail={"ward_code": ward_code, "target": target},
                 session=session, commit=False)
    session.commit()
    return quota


def change_state(session: Session, version: SurveyVersion, survey: Survey, to: VersionState,
                 opens_at: dt.datetime | None = None, closes_at: dt.datetime | None = None) -> None:
    """Move a version along its lifecycle (:mod:`web.lifecycle`), audited, and commit."""
    lifecycle.change(session, version, survey, to, opens_at=opens_at, closes_at=closes_at)
    session.commit()


def set_privacy_settings(session: Session, survey: Survey, controller: str, contact: str) -> None:
    """Name the survey's data controller and privacy contact (shown in its privacy notice)."""
    survey.controller, survey.privacy_contact = controller, contact
    session.add(survey)
    audit.record("survey_privacy_settings", target=f"survey {survey.slug}", session=session, commit=False)
    session.commit()


def set_excluded(session: Session, response: Response, excluded: bool, reason: str | None = None) -> None:
    """Exclude a response from analysis after quality review (its review status becomes "rejected"),
    or take it back in ("not reviewed")."""
    set_status(session, [response.id], ReviewStatus.rejected if excluded else ReviewStatus.not_reviewed,
               reason, requesting_user(), detail={"reason": reason} if reason else None)
    audit.record("response_excluded" if excluded else "response_included", target=f"response {response.id}",
                 detail={"reason": reason} if reason else {}, session=session)

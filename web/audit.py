"""Recording who did what: ``audit.record("export", target="digital-skills", detail={"format": "csv"})``.

Actions in use: ``login``, ``login_failed``, ``logout``, ``export``, ``user_created``, ``user_deactivated``,
``user_activated``, ``role_changed``, ``password_reset``, ``token_created``, ``token_revoked``,
``ward_assigned``, ``ward_unassigned``, ``quota_set``, ``survey_published``, ``survey_retired``,
``survey_uploaded``, ``survey_previewed``, ``survey_closed``, ``survey_archived``,
``survey_back_to_draft``, ``response_excluded``, ``response_included``, ``response_reviewed`` (one response
or a bulk action: status, count, filters), ``response_edited`` (questions and revision, never values),
``response_erased``,
``draft_erased``, ``contacts_purged``. Never put answers or personal details in ``detail``.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlmodel import Session, select

from web import db
from web.auth import requesting_user
from web.models import AuditEvent, User


def record(action: str, *, target: str | None = None, detail: dict[str, Any] | None = None,
           actor: User | None = None, actor_name: str | None = None, session: Session | None = None,
           commit: bool = True) -> AuditEvent:
    """Add one event to the audit log; the actor defaults to the user making the request (a named
    ``actor_name`` such as "schedule" says the system acted, not that user)."""
    if actor is None and actor_name is None and has_request_context():
        actor = requesting_user()
    event = AuditEvent(
        action=action[:40],
        target=target[:120] if target else None,
        detail=detail or {},
        actor_id=actor.id if actor is not None else None,
        actor_name=(actor.username if actor is not None else actor_name or None),
        ip=_client_ip(),
    )
    session = session or db.session()
    session.add(event)
    if commit:
        session.commit()
    return event


def _client_ip() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:64] or None


def recent(session: Session, limit: int = 200, action: str | None = None) -> list[AuditEvent]:
    """The newest events first, optionally of one action."""
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.exec(query).all())

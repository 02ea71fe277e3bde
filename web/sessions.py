"""Logins that end on the server: one :class:`UserSession` row per login, checked on every request.

The signed cookie carries a random session id; the database keeps only its sha256. A request whose
cookie names an ended or expired login is anonymous (a page redirects to the login, the API
answers 401). Logging out ends the login and every token it issued; a password reset, a role change
or a deactivation ends every login and every token of the user.

Field roles (volunteers, supervisors) keep their login across browser restarts for
``KHAOSAT_SESSION_DAYS`` (14 by default), so a phone rebooted in the field is not locked out;
other roles' cookies end with the browser and their login after ``KHAOSAT_STAFF_SESSION_HOURS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import Flask, current_app, g
from flask import session as cookie
from flask.sessions import SecureCookieSessionInterface
from sqlmodel import Session, select

from web import db
from web.models import ApiToken, Role, User, UserSession
from web.models.base import utcnow

FIELD_ROLES = (Role.volunteer.value, Role.supervisor.value)
COOKIE_KEY = "sid"


class SignedCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer made once per secret key: Flask makes one
    on every request, an API call's without a cookie included (0.1 ms of a submission's 5)."""

    def __init__(self) -> None:
        self._serializers: dict = {}

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]


def lifetime(role: str) -> dt.timedelta:
    """How long a login of ``role`` lasts."""
    if role in FIELD_ROLES:
        return dt.timedelta(days=current_app.config["KHAOSAT_SESSION_DAYS"])
    return dt.timedelta(hours=current_app.config["KHAOSAT_STAFF_SESSION_HOURS"])


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start(session: Session, user: User) -> UserSession:
    """Record a new login for ``user`` and name it in the cookie (call after ``login_user``)."""
    sid = secrets.token_urlsafe(32)
    record = UserSession(user_id=user.id, sid_hash=_digest(sid), expires_at=utcnow() + lifetime(user.role))
    session.add(record)
    session.commit()
    cookie[COOKIE_KEY] = sid
    cookie.permanent = user.role in FIELD_ROLES
    g.login_session = record
    return record


def current() -> UserSession | None:
    """The live login named by this request's cookie, if any (looked up once per request)."""
    if "login_session" not in g:
        sid = cookie.get(COOKIE_KEY)
        record = None
        if isinstance(sid, str):
            record = db.session().exec(select(UserSession).where(UserSession.sid_hash == _digest(sid))).first()
        g.login_session = record if record is not None and record.is_live() else None
    return g.login_session


def end_current() -> None:
    """Log out: end this request's login and the tokens it issued."""
    record = current()
    if record is not None:
        _end(db.session(), [record])
        db.session().commit()
    cookie.pop(COOKIE_KEY, None)
    g.login_session = None


def end_all(session: Session, user: User) -> None:
    """End every login and revoke every token of ``user`` (the caller commits)."""
    records = session.exec(select(UserSession).where(UserSession.user_id == user.id,
                                                     UserSession.ended_at.is_(None))).all()
    _end(session, records)
    now = utcnow()
    for token in session.exec(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = now
        session.add(token)


def _end(session: Session, records: list[UserSession]) -> None:
    now = utcnow()
    for record in records:
        record.ended_at = now
        session.add(record)
        for token in session.exec(select(ApiToken).where(ApiToken.session_id == record.id,
                                                         ApiToken.revoked_at.is_(None))):
            token.revoked_at = now
            session.add(token)


def is_live(session: Session, session_id: int | None) -> bool:
    """True for a token made by a script (no login) or whose login is still live."""
    if session_id is None:
        return True
    record = session.get(UserSession, session_id)
    return record is not None and record.is_live()

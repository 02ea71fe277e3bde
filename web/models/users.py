"""People who log in (admins, supervisors, volunteers, researchers, ward officials), their login
sessions and API tokens."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlmodel import Field, SQLModel

from web.models.base import utcnow


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    volunteer = "volunteer"
    researcher = "researcher"
    ward_official = "ward_official"  #: reads the briefs of the wards assigned to them, nothing else


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)  #: argon2id
    role: str = Field(max_length=16)  #: a :class:`Role` value
    is_active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_login_at: dt.datetime | None = None

    # Flask-Login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time as aware UTC (SQLite gives back naive datetimes)."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class UserSession(SQLModel, table=True):
    """One login: the cookie names it, and it ends on the server (logout, expiry, account changes)."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    sid_hash: str = Field(max_length=64, unique=True, index=True)  #: sha256 of the cookie's session id
    created_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime  #: the login ends by itself at this time
    ended_at: dt.datetime | None = None  #: logout, or a password, role or status change of the user

    def is_live(self, now: dt.datetime | None = None) -> bool:
        return self.ended_at is None and aware(self.expires_at) > (now or utcnow())

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user {self.user_id}>"


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)  #: sha256 of the token, never the token
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    #: the login that issued it (the collection app's token); it works only while that login does
    session_id: int | None = Field(default=None, foreign_key="user_sessions.id", index=True)
    expires_at: dt.datetime | None = None  #: a script's token lapses unless renewed; an app token with its login

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and aware(self.expires_at) <= (now or utcnow())

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user {self.user_id}>"

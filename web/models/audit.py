"""The audit log: who did what and when (logins, exports, account and survey changes, erasures).

An event never holds the content it is about (no answers, no personal details), only ids and names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from web.models.base import utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, index=True)  #: the user, when someone was logged in
    actor_name: str | None = Field(default=None, max_length=64)  #: kept if the user is later renamed
    action: str = Field(max_length=40, index=True)  #: e.g. "login", "login_failed", "export", "erase"
    target: str | None = Field(default=None, max_length=120)  #: what it was about, e.g. "response 12"
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ip: str | None = Field(default=None, max_length=64)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.target} by {self.actor_name}>"

"""Review of stored responses: their quality flags (computed on arrival, kept for indexed filters) and
the history of corrections staff made to their answers."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from web.models.base import utcnow


class ReviewStatus(StrEnum):
    """A response's review, as KoboToolbox's validation status. Only ``rejected`` leaves estimates and exports."""

    not_reviewed = "not_reviewed"
    approved = "approved"
    on_hold = "on_hold"
    rejected = "rejected"


class ResponseFlag(SQLModel, table=True):
    """One quality flag a response raised (a :class:`web.quality.Flag` value)."""

    __tablename__ = "response_flags"
    __table_args__ = (UniqueConstraint("response_id", "flag", name="uq_response_flags_response_flag"),
                      Index("ix_response_flags_flag_response", "flag", "response_id"))

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="responses.id", ondelete="CASCADE")
    flag: str = Field(max_length=32)
    created_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<ResponseFlag {self.response_id} {self.flag}>"


class ResponseEdit(SQLModel, table=True):
    """One answer staff corrected: who, when, the value before and after, and why."""

    __tablename__ = "response_edits"

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="responses.id", index=True, ondelete="CASCADE")
    revision: int  #: the response's revision this edit made (1 for the first correction)
    question: str = Field(max_length=120)
    old_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    new_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    reason: str = Field(max_length=500)
    editor_id: int | None = Field(default=None, foreign_key="users.id")
    editor_name: str = Field(max_length=64)
    edited_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<ResponseEdit {self.response_id} r{self.revision} {self.question}>"

"""Surveys and their versions. A published version is immutable; a change makes a new version."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from web.models.base import utcnow


class VersionState(StrEnum):
    """A version's life: an upload is a ``draft``; ``preview`` lets staff walk it (their answers are
    tests); ``open`` takes responses (between its optional dates); ``closed`` takes none but
    interviews begun before it closed; ``archived`` is hidden from lists, its responses kept."""

    draft = "draft"
    preview = "preview"
    open = "open"
    closed = "closed"
    archived = "archived"


class Survey(SQLModel, table=True):
    __tablename__ = "surveys"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)  #: the URL name, e.g. "digital-skills"
    created_at: dt.datetime = Field(default_factory=utcnow)
    #: the personal data controller named in the privacy notice (organisation, address); the survey
    #: owner fills it in, and no version is published without it
    controller: str | None = Field(default=None, max_length=300)
    #: how respondents reach the controller about their data (phone, e-mail, office)
    privacy_contact: str | None = Field(default=None, max_length=300)
    #: raised by one on every change to the survey's responses other than a new one (an exclusion, a
    #: rejection, an edit, an erasure): cached results compare it, so they never scan the responses
    #: (new responses are seen by the newest id); see :func:`web.tables.responses_changed`
    data_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    @property
    def is_publishable(self) -> bool:
        """The privacy notice can name who controls the data and how to reach them."""
        return bool((self.controller or "").strip() and (self.privacy_contact or "").strip())

    def __repr__(self) -> str:
        return f"<Survey {self.slug}>"


class SurveyVersion(SQLModel, table=True):
    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "version", name="uq_survey_versions_survey_version"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id", index=True)
    version: int  #: 1, 2, ... per survey
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  #: the instrument as data
    checksum: str = Field(max_length=64)  #: sha256 of the canonical definition
    created_at: dt.datetime = Field(default_factory=utcnow)
    #: the lifecycle state (:class:`VersionState`); at most one version of a survey is open
    status: str = Field(default=VersionState.draft.value, max_length=16, index=True,
                        sa_column_kwargs={"server_default": VersionState.draft.value})
    published_at: dt.datetime | None = None  #: when it was first opened
    retired_at: dt.datetime | None = None  #: when it was last closed (by hand, by its date or by a newer version)
    #: optional dates (UTC; entered in Hà Nội time) between which an open version takes responses
    opens_at: dt.datetime | None = None
    closes_at: dt.datetime | None = None
    #: the file the admin uploaded (name only), shown in the admin lists
    source_file: str | None = Field(default=None, max_length=200)

    @property
    def state(self) -> VersionState:
        return VersionState(self.status)

    def is_taking_responses(self, now: dt.datetime) -> bool:
        """Open, and within its dates."""
        return self.state is VersionState.open and not self.before_opening(now) and not self.past_closing(now)

    def before_opening(self, now: dt.datetime) -> bool:
        return self.opens_at is not None and now < _aware(self.opens_at)

    def past_closing(self, now: dt.datetime) -> bool:
        return self.closes_at is not None and now >= _aware(self.closes_at)

    def __repr__(self) -> str:
        return f"<SurveyVersion {self.survey_id} v{self.version} {self.state.value}>"


class PendingUpload(SQLModel, table=True):
    """A checked upload waiting for its admin's confirmation (the review page); removed when saved,
    discarded, or a day old."""

    __tablename__ = "pending_uploads"

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True, index=True)  #: the review page's address
    user_id: int = Field(foreign_key="users.id")  #: only the admin who uploaded it reviews it
    file: str = Field(max_length=200)  #: the file's name as uploaded
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  #: the checked instrument
    from_file_name: bool = False  #: its slug came from the file's name (the form names no id)
    created_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<PendingUpload {self.file}>"


def _aware(moment: dt.datetime) -> dt.datetime:
    """A stored time as UTC-aware (SQLite gives naive datetimes back)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)

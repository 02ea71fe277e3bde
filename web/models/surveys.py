"""Surveys and their versions. A published version is immutable; a change makes a new version."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from web.models.base import utcnow


class VersionState(StrEnum):
    draft = "draft"
    published = "published"
    retired = "retired"


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
    published_at: dt.datetime | None = None
    retired_at: dt.datetime | None = None

    @property
    def state(self) -> VersionState:
        if self.retired_at is not None:
            return VersionState.retired
        if self.published_at is not None:
            return VersionState.published
        return VersionState.draft

    def __repr__(self) -> str:
        return f"<SurveyVersion {self.survey_id} v{self.version} {self.state.value}>"

"""Fieldwork organisation: which wards a volunteer or supervisor works in, and each ward's quota."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from surveys import areas
from web.models.base import utcnow


class WardAssignment(SQLModel, table=True):
    """A volunteer interviews in, or a supervisor looks after, one ward (a person may have several)."""

    __tablename__ = "ward_assignments"
    __table_args__ = (UniqueConstraint("user_id", "ward_code", name="uq_ward_assignments_user_ward"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    ward_code: int = Field(index=True)  #: GSO code of the ward/commune
    #: the code list ``ward_code`` belongs to (:data:`surveys.areas.CODE_LIST`); rows of two lists never mix
    code_list: str = Field(default=areas.CODE_LIST, max_length=32, sa_column_kwargs={"server_default": areas.CODE_LIST})
    created_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<WardAssignment user {self.user_id} ward {self.ward_code}>"


class WardQuota(SQLModel, table=True):
    """How many responses a survey needs from a ward."""

    __tablename__ = "ward_quotas"
    __table_args__ = (
        UniqueConstraint("survey_id", "ward_code", name="uq_ward_quotas_survey_ward"),
        CheckConstraint("target >= 0", name="ck_ward_quotas_target_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id", index=True)
    ward_code: int = Field(index=True)
    #: the code list ``ward_code`` belongs to (:data:`surveys.areas.CODE_LIST`); rows of two lists never mix
    code_list: str = Field(default=areas.CODE_LIST, max_length=32, sa_column_kwargs={"server_default": areas.CODE_LIST})
    target: int  #: responses wanted
    updated_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<WardQuota survey {self.survey_id} ward {self.ward_code} target {self.target}>"

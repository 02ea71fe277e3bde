"""Ward-level auxiliary data for small-area estimation, uploaded by an admin (one value per ward and covariate)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from surveys import areas
from web.models.base import utcnow


class WardCovariate(SQLModel, table=True):
    """One ward's value of one covariate; an upload replaces all the uploaded covariates of its province."""

    __tablename__ = "ward_covariates"
    __table_args__ = (UniqueConstraint("province_code", "name", "ward_code", name="uq_ward_covariates_value"),)

    id: int | None = Field(default=None, primary_key=True)
    province_code: int = Field(index=True)
    name: str = Field(max_length=40)  #: the column name in the upload, e.g. "share_higher_education"
    label_vi: str = Field(max_length=200)  #: what it measures, in Vietnamese
    label_en: str = Field(max_length=200)  #: ... and in English
    ward_code: int = Field(index=True)  #: GSO code of the ward/commune
    code_list: str = Field(default=areas.CODE_LIST, max_length=32, sa_column_kwargs={"server_default": areas.CODE_LIST})
    value: float
    source: str = Field(default="", max_length=200)  #: the uploaded file's name, or "demo"
    uploaded_by: int | None = Field(default=None, foreign_key="users.id")
    uploaded_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<WardCovariate {self.name} {self.ward_code} {self.value}>"

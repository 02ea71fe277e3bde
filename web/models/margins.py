"""Population margins for weighting: head counts by ward (or province) x sex x age band, from the census."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from surveys import areas
from web.models.base import utcnow


class MarginCell(SQLModel):
    """What every census cell holds, whatever its area: sex, age band, head count, and where it came from."""

    sex: str = Field(max_length=8)  #: the instruments' code: "1" male, "2" female
    age_band: str = Field(max_length=8)  #: "16-29", "30-44", "45-59", "60+"
    count: int  #: people in the cell
    source: str = Field(default="", max_length=200)  #: the uploaded file's name, or "demo"
    uploaded_by: int | None = Field(default=None, foreign_key="users.id")
    uploaded_at: dt.datetime = Field(default_factory=utcnow)


class PopulationMargin(MarginCell, table=True):
    """One census cell; an upload replaces all the cells of its province at once."""

    __tablename__ = "population_margins"
    __table_args__ = (UniqueConstraint("ward_code", "sex", "age_band", name="uq_population_margins_cell"),)

    id: int | None = Field(default=None, primary_key=True)
    province_code: int = Field(index=True)
    ward_code: int = Field(index=True)  #: GSO code of the ward/commune
    #: the code list ``ward_code`` belongs to (:data:`surveys.areas.CODE_LIST`); rows of two lists never mix
    code_list: str = Field(default=areas.CODE_LIST, max_length=32, sa_column_kwargs={"server_default": areas.CODE_LIST})

    def __repr__(self) -> str:
        return f"<PopulationMargin {self.ward_code} {self.sex} {self.age_band} {self.count}>"


class ProvinceMargin(MarginCell, table=True):
    """One census cell of a province (province x sex x age band), for surveys covering several provinces
    or the nation, whose communes are too many to sample them all; an upload replaces its provinces' cells."""

    __tablename__ = "province_margins"
    __table_args__ = (UniqueConstraint("province_code", "sex", "age_band", name="uq_province_margins_cell"),)

    id: int | None = Field(default=None, primary_key=True)
    province_code: int = Field(index=True)  #: GSO code of the province (after 1 July 2025)

    def __repr__(self) -> str:
        return f"<ProvinceMargin {self.province_code} {self.sex} {self.age_band} {self.count}>"

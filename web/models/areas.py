"""Administrative units (province > ward/commune), loaded from the official table in ``surveys/data``."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from surveys import areas


class Area(SQLModel, table=True):
    __tablename__ = "areas"
    #: GSO numbers provinces and wards separately (province 4 and ward 4 both exist)
    __table_args__ = (UniqueConstraint("level", "code", name="uq_areas_level_code"),)

    id: int | None = Field(default=None, primary_key=True)
    level: str = Field(max_length=16, index=True)  #: "province" or "ward"
    code: int = Field(index=True)  #: official GSO code within its level
    name: str = Field(max_length=120)  #: Vietnamese name with its prefix ("Phường Hoàn Kiếm")
    division_type: str = Field(max_length=40)  #: phường, xã, đặc khu, tỉnh, thành phố trung ương
    #: the province a ward belongs to (wards and provinces share GSO numbering only within a level)
    parent_code: int | None = Field(default=None, index=True)
    #: the code list ``code`` belongs to (:data:`surveys.areas.CODE_LIST`); rows of two lists never mix
    code_list: str = Field(default=areas.CODE_LIST, max_length=32, sa_column_kwargs={"server_default": areas.CODE_LIST})

    def __repr__(self) -> str:
        return f"<Area {self.level} {self.code} {self.name}>"

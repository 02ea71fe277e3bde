"""Weighted designs made by one worker process, kept for the others (see :mod:`web.research.snapshots`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from web.models.base import utcnow


class WeightSnapshot(SQLModel, table=True):
    __tablename__ = "weight_snapshots"

    key: str = Field(primary_key=True, max_length=200)  #: survey slug and province
    meta: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  #: stamp, method, problem, ...
    frame: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  #: the weighted responses (Parquet)
    diagnostics: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  #: the weighting steps (Parquet)
    made_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<WeightSnapshot {self.key} {self.made_at:%Y-%m-%d %H:%M}>"


class WeightCell(SQLModel, table=True):
    """The served final weight of one weighting cell (or of one response weighted alone) of a survey estimated by
    the database (:mod:`web.research.in_database`): what the database joins to each of its responses, so that its
    estimates need no response in memory. Rewritten whole for a survey at each of its weighting runs."""

    __tablename__ = "weight_cells"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, index=True)  #: the survey's snapshot key (slug and provinces)
    response_id: int = -1  #: the one response this weight is of, or -1: every response of the cell
    stream: str = Field(default="", max_length=16)  #: the cell's key (:data:`web.research.weight_cells.KEY`)
    ward_code: int = -1
    sex: str = Field(default="", max_length=64)
    age_band: str = Field(default="", max_length=64)
    base_weight: float | None = None
    province_code: int | None = None  #: the province of the ward
    #: the ward's former district (:func:`web.research.weighting.former_district_codes`), where there is a table
    former_district: str | None = Field(default=None, max_length=80)
    weight: float

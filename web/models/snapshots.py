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

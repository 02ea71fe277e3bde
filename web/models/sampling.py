"""A probability sample: the frame (residential groups, household lists), a draw, and what was drawn.

The frame is uploaded per ward (``/research/frames``); a draw (:class:`SampleDraw`) keeps its seed and
settings, so the same frame and seed draw the same sample. Every selection probability is stored: the
group's (:attr:`SampledHousehold.group_probability`) and the household's within its group
(:attr:`SampledHousehold.household_probability`) and, once the volunteer has listed the household's
adults and interviewed the one the rule chose, the adult's (:attr:`SampledHousehold.adult_probability`);
the response's base weight is the inverse of their product.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from surveys import areas
from web.models.base import utcnow


class FrameGroup(SQLModel, table=True):
    """A residential group (tổ dân phố in a ward, thôn in a commune) and its number of households."""

    __tablename__ = "frame_groups"
    __table_args__ = (UniqueConstraint("ward_code", "group_code", name="uq_frame_groups_ward_group"),
                      CheckConstraint("households > 0", name="ck_frame_groups_households_positive"))

    id: int | None = Field(default=None, primary_key=True)
    province_code: int = Field(index=True)
    ward_code: int = Field(index=True)  #: GSO code of the ward/commune (the stratum)
    code_list: str = Field(default=areas.CODE_LIST, max_length=32, sa_column_kwargs={"server_default": areas.CODE_LIST})
    group_code: str = Field(max_length=40)  #: the ward's own code or number for the group, e.g. "TDP 05"
    name: str = Field(default="", max_length=200)
    households: int  #: households on the frame (the measure of size)
    source: str = Field(default="", max_length=200)  #: the uploaded file's name
    uploaded_by: int | None = Field(default=None, foreign_key="users.id")
    uploaded_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<FrameGroup {self.ward_code}/{self.group_code} {self.households}>"


class FrameHousehold(SQLModel, table=True):
    """One household of a group's list, in the order the team walks it."""

    __tablename__ = "frame_households"
    __table_args__ = (UniqueConstraint("group_id", "position", name="uq_frame_households_position"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="frame_groups.id", index=True)
    position: int  #: 1, 2, ... in list order
    address: str = Field(max_length=300)  #: house number and lane, as the team finds it

    def __repr__(self) -> str:
        return f"<FrameHousehold {self.group_id}#{self.position}>"


class SampleDraw(SQLModel, table=True):
    """One draw of a survey's sample: its seed and settings, so that it can be drawn again identically."""

    __tablename__ = "sample_draws"

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id", index=True)
    province_code: int
    seed: int = Field(sa_type=BigInteger)  #: the seed of ``numpy.random.default_rng``
    groups_per_ward: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  #: ward code -> groups
    households_per_group: int
    adult_rule: str = Field(max_length=16)  #: "kish" or "last_birthday"
    #: within-household selection factors by group ("age60": 2.0); the Kish rule applies them
    oversample: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<SampleDraw {self.id} survey {self.survey_id} seed {self.seed}>"


class SampledHousehold(SQLModel, table=True):
    """A household drawn (or a random-walk slot to be found), its probabilities and who visits it."""

    __tablename__ = "sampled_households"

    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="sample_draws.id", index=True)
    group_id: int = Field(foreign_key="frame_groups.id", index=True)  #: the PSU
    ward_code: int = Field(index=True)  #: the stratum
    household_id: int | None = Field(default=None, foreign_key="frame_households.id")  #: None: random walk
    #: the address from the list, or the random-walk rule ("start at dwelling 3, every 12th, keep right")
    address: str = Field(max_length=300)
    group_probability: float  #: the group's inclusion probability (PPS within the ward)
    household_probability: float  #: the household's, given its group
    adult_draw: float  #: the household's random number in [0, 1) for the Kish rule
    volunteer_id: int | None = Field(default=None, foreign_key="users.id", index=True)  #: the assignment
    final_code: str | None = Field(default=None, max_length=8)  #: AAPOR disposition once final
    response_uuid: str | None = Field(default=None, max_length=64)  #: the interview's uuid
    adults: int | None = None  #: adults the volunteer listed at the interview
    adult_probability: float | None = None  #: the interviewed adult's probability of selection in the household

    @property
    def probability(self) -> float:
        return self.group_probability * self.household_probability

    def __repr__(self) -> str:
        return f"<SampledHousehold {self.id} ward {self.ward_code} group {self.group_id}>"


class Visit(SQLModel, table=True):
    """One visit to a sampled household: its AAPOR outcome, when, and a callback if one is set."""

    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("uuid", name="uq_visits_uuid"),)

    id: int | None = Field(default=None, primary_key=True)
    #: the phone's key for the visit, so a visit sent again is stored once (None: the visit of an interview)
    uuid: str | None = Field(default=None, max_length=64)
    household_id: int = Field(foreign_key="sampled_households.id", index=True)
    volunteer_id: int | None = Field(default=None, foreign_key="users.id")
    code: str = Field(max_length=8)  #: AAPOR disposition code, e.g. "1.1", "2.11", "2.24", "4.60"
    visited_at: dt.datetime = Field(default_factory=utcnow)
    callback_at: dt.datetime | None = None
    note: str = Field(default="", max_length=300)

    def __repr__(self) -> str:
        return f"<Visit {self.household_id} {self.code}>"


class SurveyRound(SQLModel, table=True):
    """A round (wave) of a survey: responses submitted between its first and last day (local dates) belong to it."""

    __tablename__ = "survey_rounds"
    __table_args__ = (UniqueConstraint("survey_id", "number", name="uq_survey_rounds_number"),
                      CheckConstraint("ends_on >= starts_on", name="ck_survey_rounds_dates"))

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id", index=True)
    number: int  #: 1, 2, ...
    label: str = Field(default="", max_length=100)  #: e.g. "2026 Q4"
    starts_on: dt.date
    ends_on: dt.date

    def __repr__(self) -> str:
        return f"<SurveyRound {self.survey_id}#{self.number} {self.starts_on}..{self.ends_on}>"

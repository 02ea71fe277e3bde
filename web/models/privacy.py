"""Personal details of a respondent (contact and location), kept apart from the answers.

Only admins see this table; researcher downloads and public tables never join it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from web.models.base import utcnow


class PersonalDetails(SQLModel, table=True):
    __tablename__ = "personal_details"
    __table_args__ = (
        CheckConstraint("(latitude IS NULL AND longitude IS NULL) OR location_consent",
                        name="ck_personal_details_location_needs_consent"),
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(sa_column=Column(Integer, ForeignKey("responses.id", ondelete="CASCADE"),
                                              unique=True, index=True, nullable=False))
    full_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=500)  #: the exact address
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None  #: the GPS fix's accuracy radius in metres, as the phone reported it
    location_consent: bool = False  #: the person agreed to their GPS position being kept
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<PersonalDetails of response {self.response_id}>"

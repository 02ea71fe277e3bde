"""Responses (finished, acknowledged, never lost or doubled) and drafts (in progress, resumable)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, LargeBinary, false
from sqlmodel import Field, SQLModel

from surveys import areas
from web.models.base import utcnow


class Response(SQLModel, table=True):
    __tablename__ = "responses"
    #: one version's responses in the order they arrived, without a sort (exports, analysis)
    __table_args__ = (Index("ix_responses_version_order", "survey_version_id", "id"),
                      #: the submissions table: newest first within a review status, and within a ward; on
                      #: PostgreSQL with the columns its other filters test, so a page reads only the index
                      Index("ix_responses_status_submitted", "review_status", "submitted_at", "id",
                            postgresql_include=["is_test"]),
                      Index("ix_responses_ward_submitted", "ward_code", "submitted_at", "id",
                            postgresql_include=["survey_version_id", "volunteer_id", "channel", "review_status", "is_test"]),
                      #: a retry is known by its uuid; the table's search by a uuid's start uses it too
                      Index("ix_responses_uuid", "uuid", unique=True, postgresql_ops={"uuid": "varchar_pattern_ops"}),
                      #: a volunteer's newest responses, and their earlier one with the same content, that a
                      #: new interview is judged against on arrival (web/quality.py)
                      Index("ix_responses_volunteer_order", "volunteer_id", "id"),
                      Index("ix_responses_volunteer_content", "volunteer_id", "content_hash"))

    id: int | None = Field(default=None, primary_key=True)
    #: the client's id for this response; unique, so a retried submission is stored once
    uuid: str = Field(max_length=64)
    survey_version_id: int = Field(foreign_key="survey_versions.id")
    ward_code: int | None = None  #: GSO code of the ward/commune
    #: the code list ``ward_code`` belongs to (:data:`surveys.areas.CODE_LIST`); rows of two lists never mix
    code_list: str = Field(default=areas.CODE_LIST, max_length=32, sa_column_kwargs={"server_default": areas.CODE_LIST})
    channel: str = Field(max_length=16)  #: "self" (own phone) or "interview" (volunteer)
    language: str = Field(max_length=8)  #: the language the person answered in
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  #: question name -> code/value
    scores: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  #: derived indicators
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  #: paradata
    content_hash: str = Field(max_length=64)  #: sha256 of the submitted content, to tell a retry from a clash
    #: design variables from the sampling plan (stratum, primary sampling unit, base weight)
    stratum: str | None = Field(default=None, max_length=64)
    psu: str | None = Field(default=None, max_length=64)
    base_weight: float = 1.0
    volunteer_id: int | None = Field(default=None, foreign_key="users.id")
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None  #: when the interview ended, the phone's ``meta.ended_at`` (UTC)
    submitted_at: dt.datetime = Field(default_factory=utcnow, index=True)
    #: a supervisor judged it unusable (quality review); analysis and exports leave it out
    is_excluded: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    #: :class:`web.models.review.ReviewStatus` value; "rejected" keeps ``is_excluded`` true, so it leaves analysis
    review_status: str = Field(default="not_reviewed", max_length=16,
                               sa_column_kwargs={"server_default": "not_reviewed"})
    review_note: str | None = Field(default=None, max_length=500)
    reviewed_by: int | None = Field(default=None, foreign_key="users.id")
    reviewed_at: dt.datetime | None = None
    #: how many times staff corrected its answers (0: as submitted); ``content_hash`` stays the submitted one
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: answered in a staff preview of the survey: a test, left out of results, exports, fieldwork and quality
    is_test: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    #: given to a self-completing respondent at the end, so they can erase their answers later
    erase_code: str | None = Field(default=None, max_length=16, unique=True, index=True)
    #: the uuid of an earlier response this one clashed with (409); the volunteer kept both, a supervisor reviews
    conflict_of: str | None = Field(default=None, max_length=64)

    def __repr__(self) -> str:
        return f"<Response {self.uuid} v{self.survey_version_id} ward {self.ward_code}>"


class ResponseCsv(SQLModel, table=True):
    """A response's row of the full microdata CSV, rendered once and kept, without its final weight (which
    changes with every weighting run): the export puts ``head``, the weight and ``tail`` together
    (:mod:`web.research.fragments`). ``stamp`` says what it was rendered from (the file's layout); a
    database trigger on ``responses`` clears it and counts ``edits`` whenever a response's exported
    content changes, whichever code path changes it, and a deleted response takes its row with it."""

    __tablename__ = "response_csv"

    response_id: int = Field(sa_column=Column(Integer, ForeignKey("responses.id", ondelete="CASCADE"),
                                              primary_key=True, autoincrement=False))
    #: how many times the response changed since it arrived: a row is written back only if this is unchanged
    edits: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    stamp: str | None = Field(default=None, max_length=64)  #: the layout the bytes are of (None: stale)
    head: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  #: cells before the weight
    tail: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))  #: after it, with "\r\n"
    #: the weighting cell's key besides ward and base weight (:data:`web.research.weight_cells.KEY`), as code text
    stream: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    sex: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    age_band: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class Draft(SQLModel, table=True):
    """A self-completion in progress: answers so far, found again by its resume code."""

    __tablename__ = "drafts"

    id: int | None = Field(default=None, primary_key=True)
    resume_code: str = Field(max_length=16, unique=True, index=True)
    survey_version_id: int = Field(foreign_key="survey_versions.id")
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: what was on screen for answers that did not pass the check yet (name -> as typed); shown again
    #: on the page and checked again on Next, never part of a response
    typed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    page_index: int = 0
    language: str = Field(default="vi", max_length=8)
    ward_code: int | None = None  #: from the link or QR code, when the poster names the ward
    #: the code list ``ward_code`` belongs to (:data:`surveys.areas.CODE_LIST`); rows of two lists never mix
    code_list: str = Field(default=areas.CODE_LIST, max_length=32, sa_column_kwargs={"server_default": areas.CODE_LIST})
    started_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)

    def __repr__(self) -> str:
        return f"<Draft {self.resume_code} page {self.page_index}>"

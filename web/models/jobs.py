"""Long work done in the background (a large download): the one record of its state (see :mod:`web.jobs`)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from web.models.base import utcnow


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


FINISHED = (JobStatus.done, JobStatus.failed, JobStatus.cancelled)


class Job(SQLModel, table=True):
    """What the pages read, whatever queue runs the work (a thread of the web process, or RQ workers)."""

    __tablename__ = "jobs"

    id: str = Field(primary_key=True, max_length=32)  #: random hex, also the RQ job id
    kind: str = Field(max_length=40)  #: the task (:func:`web.jobs.task`), e.g. "export"
    owner_id: int = Field(foreign_key="users.id", index=True)  #: who asked; only they and admins see it
    params: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  #: the task's arguments
    title: str = Field(default="", max_length=200)  #: what the downloads list calls it (the file's name)
    status: str = Field(default=JobStatus.queued.value, max_length=20, index=True)
    done_rows: int = 0  #: progress: rows written so far
    total_rows: int = 0  #: progress: rows to write
    cancel_requested: bool = False  #: the task stops at its next chunk
    attempts: int = 0  #: runs started (a run lost with its process is started again, up to a limit)
    holder: str | None = Field(default=None, max_length=120)  #: "host:pid" of the process queuing or running it
    problem: str | None = Field(default=None, max_length=40)  #: why it failed: a code of web.jobs.PROBLEMS
    file_path: str | None = Field(default=None, max_length=500)  #: the result, under KHAOSAT_JOB_DIR
    file_name: str | None = Field(default=None, max_length=200)  #: the name it downloads as
    mimetype: str | None = Field(default=None, max_length=100)
    file_size: int | None = None  #: bytes
    created_at: dt.datetime = Field(default_factory=utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def percent(self) -> int:
        if self.status == JobStatus.done:
            return 100
        return min(99, 100 * self.done_rows // self.total_rows) if self.total_rows else 0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.status} {self.percent}%>"

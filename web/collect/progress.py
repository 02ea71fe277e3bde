"""A volunteer's own progress: interviews received today, per ward (in KHAOSAT_TIMEZONE, Hà Nội by default)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, func, select

from web.i18n import local_zone
from web.models import Response


def today_by_ward(session: Session, volunteer_id: int, now: dt.datetime | None = None) -> dict[int | None, int]:
    """Responses this volunteer sent since midnight on the local clock, counted per ward code."""
    now = now or dt.datetime.now(dt.UTC)
    midnight = now.astimezone(local_zone()).replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight.astimezone(dt.UTC)
    rows = session.exec(
        select(Response.ward_code, func.count())
        .where(Response.volunteer_id == volunteer_id, Response.submitted_at >= since)
        .group_by(Response.ward_code)
    ).all()
    return {ward: n for ward, n in rows}

"""A volunteer's own progress: interviews received today, per ward (Vietnam time, UTC+7)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, func, select

from web.models import Response

VIETNAM = dt.timezone(dt.timedelta(hours=7))


def today_by_ward(session: Session, volunteer_id: int, now: dt.datetime | None = None) -> dict[int | None, int]:
    """Responses this volunteer sent since midnight in Vietnam, counted per ward code."""
    now = now or dt.datetime.now(dt.UTC)
    midnight = now.astimezone(VIETNAM).replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight.astimezone(dt.UTC)
    rows = session.exec(
        select(Response.ward_code, func.count())
        .where(Response.volunteer_id == volunteer_id, Response.submitted_at >= since)
        .group_by(Response.ward_code)
    ).all()
    return {ward: n for ward, n in rows}

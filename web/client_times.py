"""Times a client sends (``started_at``, ``ended_at``, a visit's ``visited_at``): ISO 8601, read safely.

A phone's clock is not trusted to be right, only to be a time: anything between 1970 (a cheap phone
whose battery ran flat restarts there until it finds the network time) and 2100 is read, in UTC.
Used by the API's body checks and by quality review, which compares these times with the server's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

EARLIEST, LATEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 date and time between 1970 and 2100, in UTC (no zone: UTC); None when it is not one."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-14:00 overflows when moved to UTC
        return None
    return parsed if EARLIEST <= parsed < LATEST else None

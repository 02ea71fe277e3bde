"""The survey's clock: what ``today()`` and ``now()`` mean in rules, in the survey's time zone.

Stored times are UTC; a rule's ``today()`` is the calendar day in the survey's time zone (Hà Nội by
default), so from 00:00 to 07:00 in Việt Nam it is already the new day, as on the respondent's
phone (``web/static/expr.js`` does the same with ``Intl.DateTimeFormat``). The zone and, for tests,
the instant are held in context variables: :func:`use` sets them for a block of code, and the web
app sets the zone once per request from ``KHAOSAT_TIMEZONE``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"

_zone: ContextVar[str] = ContextVar("survey_time_zone", default=DEFAULT_ZONE)
_clock: ContextVar[Callable[[], dt.datetime] | None] = ContextVar("survey_clock", default=None)


def set_zone(name: str) -> None:
    """Use the IANA zone ``name`` (e.g. ``Asia/Ho_Chi_Minh``) for the rest of this context."""
    ZoneInfo(name)  # an unknown zone fails here, not in the middle of a rule
    _zone.set(name)


@contextlib.contextmanager
def use(zone: str = DEFAULT_ZONE, instant: dt.datetime | None = None) -> Iterator[None]:
    """Within the block, rules read the clock in ``zone``, stopped at ``instant`` (aware) if given."""
    ZoneInfo(zone)
    zone_token = _zone.set(zone)
    clock_token = _clock.set((lambda: instant) if instant is not None else None)
    try:
        yield
    finally:
        _zone.reset(zone_token)
        _clock.reset(clock_token)


def local_now() -> dt.datetime:
    """The current wall-clock time in the survey's zone, to the second."""
    clock = _clock.get()
    moment = clock() if clock is not None else dt.datetime.now(dt.UTC)
    return moment.astimezone(ZoneInfo(_zone.get())).replace(microsecond=0)


def today() -> str:
    """``today()``: the survey zone's date, ``YYYY-MM-DD``."""
    return local_now().date().isoformat()


def now() -> str:
    """``now()``: the survey zone's wall-clock time, ``YYYY-MM-DDTHH:MM:SS`` (no offset)."""
    return local_now().replace(tzinfo=None).isoformat()


def wall_clock(moment: dt.datetime) -> dt.datetime:
    """``moment`` as the survey zone's wall-clock time (no offset); a naive moment is taken as that already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(ZoneInfo(_zone.get())).replace(tzinfo=None)

"""Quality flags for fieldwork review: interviews too fast, straight-lined answers, identical responses,
and claimed durations that the interview's own times or the server's receipts contradict.

An interview's length is never taken from one number the phone sends: the app's count, the span of
its start and end times, the time from its start to its receipt and, when it began after the
volunteer's previous submission reached the server, the time between those two receipts, are all
measures; the shortest decides "too fast", and a claim longer than a bound is flagged.
Plain functions over responses and their instruments; a supervisor decides what to exclude.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import bindparam, func, literal, select, true
from sqlmodel import Session

import surveys
from surveys.questions import kind
from web.client_times import parse_timestamp
from web.models import Response, WardAssignment

MIN_GRID_ITEMS = 6  #: straight-lining is only judged over at least this many grid answers


TOLERANCE_S = 60  #: rounding and clock drift: disagreements about a duration smaller than this are not flagged
CLOCK_SLACK_S = 120  #: a phone's clock may run this far ahead of the server's before its times are impossible
MAX_QUEUED = dt.timedelta(days=366)  #: begun longer before its receipt: a phone clock reset (to 1970, say)


class Flag(StrEnum):
    too_fast = "too_fast"
    straight_lined = "straight_lined"
    duplicate = "duplicate"
    kept_after_conflict = "kept_after_conflict"  #: the volunteer kept both after a 409
    duration_mismatch = "duration_mismatch"  #: the claimed duration disagrees with the times or the syncs
    impossible_times = "impossible_times"  #: ended before it started, or after the server received it
    overlap = "overlap"  #: overlaps another interview by the same volunteer
    outside_assignment = "outside_assignment"  #: a volunteer's interview in a ward not assigned to them


@dataclass
class Timing:
    """What is known of an interview's length, from the app and from the server. Each is an upper
    bound or a claim; the shortest decides "too fast", so inflating one number does not hide it."""

    reported: float | None = None  #: the app's ``duration_s``
    span: float | None = None  #: from the interview's own start and end times (the phone's clock)
    until_received: float | None = None  #: from its start until the server received it
    since_sync: float | None = None  #: server clock: since the volunteer's previous submission, when it began after it

    @property
    def shortest(self) -> float | None:
        known = [v for v in (self.reported, self.span, self.until_received, self.since_sync) if v is not None]
        return min(known) if known else None

    @property
    def claimed(self) -> float | None:
        """The longest the app claims (its count, or its times)."""
        known = [v for v in (self.reported, self.span) if v is not None]
        return max(known) if known else None


@dataclass
class Flagged:
    response: Response
    flags: list[Flag] = field(default_factory=list)
    seconds: float | None = None  #: interview duration, when known (the shortest measure)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive UTC time, whatever the database gave back."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _times(response: Response) -> tuple[dt.datetime | None, dt.datetime | None, dt.datetime | None]:
    """Start and end (the phone's clock) and receipt (the server's), as naive UTC."""
    ended = response.ended_at or parse_timestamp((response.meta or {}).get("ended_at"))
    return _utc(response.started_at), _utc(ended), _utc(response.submitted_at)


def timing(response: Response, previous_received: dt.datetime | None = None) -> Timing:
    """Every measure of ``response``'s length; ``previous_received`` is when the server received the
    volunteer's submission before it (the previous sync)."""
    started, ended, received = _times(response)
    reported = (response.meta or {}).get("duration_s")
    result = Timing(reported=float(reported) if isinstance(reported, int | float) and not isinstance(reported, bool)
                    and reported >= 0 else None)
    if started is not None and ended is not None and ended >= started:
        result.span = (ended - started).total_seconds()
    if started is not None and received is not None and received >= started:
        result.until_received = (received - started).total_seconds()
    previous_received = _utc(previous_received)
    if started is not None and previous_received is not None and received is not None and started > previous_received:
        result.since_sync = (received - previous_received).total_seconds()
    return result


def duration_seconds(response: Response) -> float | None:
    """The interview's length on its own: the shortest of the app's count, its times, and start to receipt."""
    return timing(response).shortest


def _timing_flags(response: Response, measured: Timing) -> list[Flag]:
    flags = []
    started, ended, received = _times(response)
    slack = dt.timedelta(seconds=CLOCK_SLACK_S)
    reported = (response.meta or {}).get("duration_s")
    if (started is not None and ended is not None and ended < started - slack) or (
            received is not None and any(t is not None and t > received + slack for t in (started, ended))) or (
            received is not None and started is not None and received - started > MAX_QUEUED) or (
            isinstance(reported, int | float) and reported < -TOLERANCE_S):
        flags.append(Flag.impossible_times)
    if measured.reported is not None and measured.span is not None:
        disagrees = abs(measured.reported - measured.span) > max(TOLERANCE_S, 0.1 * measured.span)
    else:
        disagrees = False
    for bound in (measured.until_received, measured.since_sync):  # the server's receipts: nothing lasts longer
        if bound is not None and measured.claimed is not None:
            disagrees |= measured.claimed > bound + max(TOLERANCE_S, 0.1 * bound) + CLOCK_SLACK_S
    if disagrees:
        flags.append(Flag.duration_mismatch)
    return flags


def _overlapping(responses: list[Response]) -> set[int]:
    """Ids of interviews whose claimed times overlap another's by the same volunteer."""
    found: set[int] = set()
    by_volunteer: dict[int, list[tuple[dt.datetime, dt.datetime, int]]] = {}
    for r in responses:
        started, ended, _received = _times(r)
        if r.volunteer_id is not None and started is not None and ended is not None and ended > started:
            by_volunteer.setdefault(r.volunteer_id, []).append((started, ended, r.id))
    margin = dt.timedelta(seconds=TOLERANCE_S)
    for intervals in by_volunteer.values():
        intervals.sort()
        latest_end, latest_id = None, None
        for started, ended, rid in intervals:
            if latest_end is not None and started < latest_end - margin:
                found.update((rid, latest_id))
            if latest_end is None or ended > latest_end:
                latest_end, latest_id = ended, rid
    return found


def _previous_receipts(responses: list[Response]) -> dict[int, dt.datetime]:
    """For each interview, when the server received the same volunteer's submission before it."""
    previous: dict[int, dt.datetime] = {}
    by_volunteer: dict[int, list[Response]] = {}
    for r in responses:
        if r.volunteer_id is not None and r.submitted_at is not None:
            by_volunteer.setdefault(r.volunteer_id, []).append(r)
    for items in by_volunteer.values():
        items.sort(key=lambda r: (_utc(r.submitted_at), r.id))
        for before, after in zip(items, items[1:], strict=False):
            previous[after.id] = before.submitted_at
    return previous


def is_straight_lined(response: Response, instrument: surveys.Instrument) -> bool:
    """True when at least :data:`MIN_GRID_ITEMS` grid answers all carry the same code."""
    codes = [response.answers.get(q.name) for q in instrument.questions if kind(q.type).straight_lining]
    codes = [c for c in codes if isinstance(c, str | int)]
    return len(codes) >= MIN_GRID_ITEMS and len(set(codes)) == 1


def _fingerprint(response: Response) -> str:
    return json.dumps(response.answers, sort_keys=True, ensure_ascii=False, default=str)


def flag_responses(responses: Iterable[Response], instruments: dict[int, surveys.Instrument],
                   min_seconds: float) -> list[Flagged]:
    """Every response that raises at least one flag, newest first.

    ``instruments`` maps survey version ids to instruments. Identical answers count as duplicates
    only among the responses of one volunteer.
    """
    responses = list(responses)
    same = Counter((r.volunteer_id, _fingerprint(r)) for r in responses if r.volunteer_id is not None)
    previous, overlapping = _previous_receipts(responses), _overlapping(responses)
    flagged = []
    for response in responses:
        duplicate = response.volunteer_id is not None and same[(response.volunteer_id, _fingerprint(response))] > 1
        item = _judged(response, timing(response, previous.get(response.id)),
                       instruments.get(response.survey_version_id), min_seconds,
                       overlap=response.id in overlapping, duplicate=duplicate)
        if item.flags:
            flagged.append(item)
    flagged.sort(key=lambda f: (f.response.submitted_at, f.response.id), reverse=True)
    return flagged


def _judged(response: Response, measured: Timing, instrument: surveys.Instrument | None, min_seconds: float, *,
            overlap: bool, duplicate: bool) -> Flagged:
    """``response``'s flags, given what is known of its length and whether it overlaps or duplicates another."""
    item = Flagged(response, seconds=measured.shortest)
    if item.seconds is not None and item.seconds < min_seconds:
        item.flags.append(Flag.too_fast)
    item.flags.extend(_timing_flags(response, measured))
    if overlap:
        item.flags.append(Flag.overlap)
    if instrument is not None and is_straight_lined(response, instrument):
        item.flags.append(Flag.straight_lined)
    if duplicate:
        item.flags.append(Flag.duplicate)
    if response.conflict_of:
        item.flags.append(Flag.kept_after_conflict)
    return item


#: the same volunteer's newest responses before a new one that its overlaps are judged against
ARRIVAL_WINDOW = 50


@functools.cache
def _arrival_statement():
    """One statement for what a new response of a volunteer is judged against, built once (the parameters
    are bound when it runs). Of the volunteer's :data:`ARRIVAL_WINDOW` newest other responses (through
    ``(volunteer_id, id)``): those whose times may overlap the new one's (``lo``: its start plus the
    tolerance, ``start``, ``hi``: its end minus the tolerance; :func:`_overlap` decides), a row each, or
    one row of nulls; and on every row the previous receipt among them (before ``received``, ``this``),
    the newest other response with the same content (``(volunteer_id, content_hash)``), how many wards
    the volunteer is assigned and whether the response's ``ward`` is one."""
    r, wards = Response.__table__, WardAssignment.__table__
    volunteer, this, received = bindparam("volunteer"), bindparam("this"), bindparam("received")
    recent = (select(r.c.id, r.c.started_at, r.c.ended_at, r.c.submitted_at)
              .where(r.c.volunteer_id == volunteer, r.c.id != this)
              .order_by(r.c.id.desc()).limit(ARRIVAL_WINDOW).cte("recent"))
    maybe = select(recent.c.id, recent.c.started_at, recent.c.ended_at).where(
        (recent.c.ended_at > bindparam("lo"))
        | ((recent.c.started_at >= bindparam("start")) & (recent.c.started_at < bindparam("hi")))).subquery("maybe")
    previous = select(func.max(recent.c.submitted_at)).where(
        (recent.c.submitted_at < received) | ((recent.c.submitted_at == received) & (recent.c.id < this)))
    twin = (select(r.c.id).where(r.c.volunteer_id == volunteer, r.c.content_hash == bindparam("content"),
                                 r.c.id != this).order_by(r.c.id.desc()).limit(1))
    assigned = select(func.count()).where(wards.c.user_id == volunteer)
    here = select(func.count()).where(wards.c.user_id == volunteer, wards.c.ward_code == bindparam("ward"))
    one = select(literal(1).label("one")).subquery("one")
    return (select(maybe.c.id, maybe.c.started_at, maybe.c.ended_at,
                   previous.scalar_subquery().label("previous"), twin.scalar_subquery().label("twin"),
                   assigned.scalar_subquery().label("assigned"), here.scalar_subquery().label("here"))
            .select_from(one.outerjoin(maybe, true())))


def flags_on_arrival(session: Session, response: Response, instruments: dict[int, surveys.Instrument],
                     min_seconds: float, judge_wards: bool = False) -> dict[int, list[Flag]]:
    """The flags of a response that has just arrived (in the submission's transaction), judged with the same
    volunteer's earlier responses (a duplicate or an overlap flags both): response id -> flags, for every
    response involved. With ``judge_wards``, an interview in a ward outside the volunteer's assigned wards
    is flagged ``outside_assignment`` (a volunteer with no assignment is not judged).

    One statement (:func:`_arrival_statement`), and only the new response is judged (the earlier ones were
    when they arrived): a duplicate is an earlier response of the volunteer with the same content as
    submitted (answers and survey version: ``content_hash``, indexed); overlaps and the previous receipt are
    judged among the volunteer's :data:`ARRIVAL_WINDOW` newest, from their times alone.
    """
    started, ended, _received = _times(response)
    overlapping, previous, twin, outside = [], None, None, False
    if response.volunteer_id is not None:
        valid = started is not None and ended is not None and ended > started
        margin = dt.timedelta(seconds=TOLERANCE_S)
        rows = session.connection().execute(_arrival_statement(), {
            "volunteer": response.volunteer_id, "this": response.id, "received": response.submitted_at,
            "content": response.content_hash, "ward": response.ward_code,
            "lo": _aware(started + margin) if valid else None, "start": _aware(started) if valid else None,
            "hi": _aware(ended - margin) if valid else None}).all()
        overlapping = [row.id for row in rows if row.id is not None and _overlap(row, (started, ended, response.id))]
        previous, twin = rows[0].previous, rows[0].twin
        outside = judge_wards and response.ward_code is not None and rows[0].assigned > 0 and not rows[0].here
    item = _judged(response, timing(response, previous), instruments.get(response.survey_version_id), min_seconds,
                   overlap=bool(overlapping), duplicate=twin is not None)
    if outside:
        item.flags.append(Flag.outside_assignment)
    found = {response.id: item.flags} if item.flags else {}
    for rid in overlapping:  # an earlier one gains only the flags this arrival gives it
        found[rid] = [Flag.overlap]
    if twin is not None:
        found.setdefault(twin, []).append(Flag.duplicate)
    return found


def _aware(value: dt.datetime) -> dt.datetime:
    """A naive UTC time (as :func:`_times` gives) made aware, as the database's columns take it."""
    return value.replace(tzinfo=dt.UTC)


def _overlap(row, mine: tuple[dt.datetime, dt.datetime, int]) -> bool:
    """Whether an earlier response's times (``row``: id, started_at, ended_at) overlap the new one's
    (``mine``: start, end, id; naive UTC) as :func:`_overlapping` judges a pair: sorted by start, end
    and id, the second begins more than :data:`TOLERANCE_S` before the first ends."""
    other = (_utc(row.started_at), _utc(row.ended_at), row.id)
    if other[0] is None or other[1] is None or other[1] <= other[0]:
        return False
    first, second = sorted([other, mine])
    return second[0] < first[1] - dt.timedelta(seconds=TOLERANCE_S)

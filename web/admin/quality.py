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
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import surveys
from web.api.validation import parse_timestamp
from web.models import Response

#: question types whose answers form a "grid" a tired or dishonest interviewer may straight-line
GRID_TYPES = ("likert", "yesno")
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
    return (_utc(response.started_at), _utc(parse_timestamp((response.meta or {}).get("ended_at"))),
            _utc(response.submitted_at))


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
    codes = [response.answers.get(q.name) for q in instrument.questions if q.type in GRID_TYPES]
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
        measured = timing(response, previous.get(response.id))
        item = Flagged(response, seconds=measured.shortest)
        if item.seconds is not None and item.seconds < min_seconds:
            item.flags.append(Flag.too_fast)
        item.flags.extend(_timing_flags(response, measured))
        if response.id in overlapping:
            item.flags.append(Flag.overlap)
        instrument = instruments.get(response.survey_version_id)
        if instrument is not None and is_straight_lined(response, instrument):
            item.flags.append(Flag.straight_lined)
        if response.volunteer_id is not None and same[(response.volunteer_id, _fingerprint(response))] > 1:
            item.flags.append(Flag.duplicate)
        if response.conflict_of:
            item.flags.append(Flag.kept_after_conflict)
        if item.flags:
            flagged.append(item)
    flagged.sort(key=lambda f: (f.response.submitted_at, f.response.id), reverse=True)
    return flagged

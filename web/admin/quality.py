"""Quality flags for fieldwork review: interviews too fast, straight-lined answers, identical responses.

Plain functions over responses and their instruments; a supervisor decides what to exclude.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import surveys
from web.models import Response

#: question types whose answers form a "grid" a tired or dishonest interviewer may straight-line
GRID_TYPES = ("likert", "yesno")
MIN_GRID_ITEMS = 6  #: straight-lining is only judged over at least this many grid answers


class Flag(StrEnum):
    too_fast = "too_fast"
    straight_lined = "straight_lined"
    duplicate = "duplicate"
    kept_after_conflict = "kept_after_conflict"  #: the volunteer kept both after a 409


@dataclass
class Flagged:
    response: Response
    flags: list[Flag] = field(default_factory=list)
    seconds: float | None = None  #: interview duration, when known


def duration_seconds(response: Response) -> float | None:
    """The interview's length: the phone's own start-to-end count when it sent one (an interview
    queued offline is received long after it ended), else from its start to its receipt."""
    reported = (response.meta or {}).get("duration_s")
    if isinstance(reported, int | float) and not isinstance(reported, bool) and reported >= 0:
        return float(reported)
    if response.started_at is None or response.submitted_at is None:
        return None
    started, submitted = response.started_at, response.submitted_at
    if (started.tzinfo is None) != (submitted.tzinfo is None):
        started, submitted = started.replace(tzinfo=None), submitted.replace(tzinfo=None)
    return (submitted - started).total_seconds()


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
    flagged = []
    for response in responses:
        item = Flagged(response, seconds=duration_seconds(response))
        if item.seconds is not None and item.seconds < min_seconds:
            item.flags.append(Flag.too_fast)
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

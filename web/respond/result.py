"""The personal result on the done page: a skills profile by DigComp area in plain words, next steps.

Reads the indicators that :func:`surveys.score` stored with the response. An instrument scored by
area (``<prefix>_area_<a>`` with ``<prefix>_band_<a>``, the DigCompSAT way, or the DSI 2.0 levels)
gets a profile; an instrument without area scores (e.g. service satisfaction) gets none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from surveys.scoring import AREA_LEVELS, BANDS
from web.i18n import lazy_gettext

#: DigComp 2.2 areas (and UNESCO's device-basics layer "0"), in plain words
AREA_NAMES = {
    "0": lazy_gettext("Using a phone or computer"),
    "1": lazy_gettext("Finding and judging information"),
    "2": lazy_gettext("Communicating and using services online"),
    "3": lazy_gettext("Creating digital content"),
    "4": lazy_gettext("Staying safe online"),
    "5": lazy_gettext("Solving problems and learning"),
}
NEXT_STEPS = {
    "0": lazy_gettext("Ask the community digital team to show you how to install apps and keep your phone updated."),
    "1": lazy_gettext("Practise searching for official information and checking where news comes from."),
    "2": lazy_gettext("Try a public service online, such as VNeID or the National Public Service Portal, with a helper."),
    "3": lazy_gettext("Practise writing a short document or editing a photo on your phone."),
    "4": lazy_gettext("Learn to spot scam messages and to protect your accounts with strong passwords."),
    "5": lazy_gettext("When an app fails, try restarting it, then look for help videos; short courses help too."),
}
_AREA_KEY = re.compile(r"^(?P<prefix>[a-z0-9_]+?)_area_(?P<area>\d)$")


@dataclass
class AreaResult:
    area: str
    name: str
    level: dict[str, str]  #: plain-words level in each language
    percent: float | None
    strong: bool
    advice: str


def _prefixes(scores: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in scores:
        match = _AREA_KEY.match(key)
        if match:
            found.setdefault(match["prefix"], []).append(match["area"])
    return found


def profile(scores: dict[str, Any]) -> list[AreaResult]:
    """Areas with a result, in order; empty when the instrument has no area scores."""
    prefixes = _prefixes(scores)
    banded = [p for p in prefixes if any(f"{p}_band_{a}" in scores for a in prefixes[p])]
    prefix = banded[0] if banded else next(iter(prefixes), None)
    if prefix is None:
        return []
    out = []
    for area in sorted(prefixes[prefix]):
        value = scores.get(f"{prefix}_area_{area}")
        if value is None:
            continue
        if prefix in banded:
            band = int(scores.get(f"{prefix}_band_{area}") or 1)
            level, percent, strong = BANDS.get(band, BANDS[1]), float(value), band >= 3
        else:
            level, percent, strong = AREA_LEVELS.get(int(value), AREA_LEVELS[0]), None, int(value) >= 2
        out.append(AreaResult(area, str(AREA_NAMES.get(area, area)), level, percent, strong,
                              str(NEXT_STEPS.get(area, ""))))
    return out


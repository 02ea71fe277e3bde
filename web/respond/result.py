"""The personal result on the done page: the index, the parts it is made of, and each part by area.

The headline is an instrument's first ``mean`` scoring block (``dsi_index``, ``competency_index``); the
page shows exactly the parts that block averages (its ``of``), each out of 100, and each part that
is scored by area (``dsi_activities``, ``area_percent``) with its areas. So the headline is always
the (weighted) average of the parts shown, and a part always lies between its lowest and highest
area. Levels are in plain words with what each means; every weak area gets one next step, for
residents or for officials (``scoring.audience``). An instrument without such a ``mean`` block but
with area scores gets the profile alone; one without area scores (service satisfaction) gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from surveys import Instrument
from web.i18n import language, lazy_gettext

#: DigComp 2.2 areas (and UNESCO's device-basics layer "0"), in plain words
AREA_NAMES = {
    "0": lazy_gettext("Using a phone or computer"),
    "1": lazy_gettext("Finding and judging information"),
    "2": lazy_gettext("Communicating and using services online"),
    "3": lazy_gettext("Creating digital content"),
    "4": lazy_gettext("Staying safe online"),
    "5": lazy_gettext("Solving problems and learning"),
}
#: one next step per weak area, for the people each survey is about
NEXT_STEPS = {
    "residents": {
        "0": lazy_gettext("Ask the community digital team to show you how to install apps and keep your phone updated."),
        "1": lazy_gettext("Practise searching for official information and checking where news comes from."),
        "2": lazy_gettext("Try a public service online, such as VNeID or the National Public Service Portal, "
                          "with a helper."),
        "3": lazy_gettext("Practise writing a short document or editing a photo on your phone."),
        "4": lazy_gettext("Learn to spot scam messages and to protect your accounts with strong passwords."),
        "5": lazy_gettext("When an app fails, try restarting it, then look for help videos; short courses help too."),
    },
    "officials": {
        "0": lazy_gettext("Ask your agency's IT staff for a short session on the basics of your work computer."),
        "1": lazy_gettext("Take the course on finding and using data in the shared systems that your agency's "
                          "training plan offers, and practise with the national legal documents database."),
        "2": lazy_gettext("Ask your unit to enrol you in training on the document management and one-stop "
                          "systems, and on guiding residents through online public services."),
        "3": lazy_gettext("Prepare for the basic IT skills certificate (Circular 03/2014/TT-BTTTT): documents, "
                          "spreadsheets and slides."),
        "4": lazy_gettext("Take your agency's information security course and turn on two-step verification "
                          "for your work e-mail."),
        "5": lazy_gettext("Join the digital transformation training in your agency's yearly training plan, "
                          "including the responsible use of AI tools."),
    },
}

#: area levels in plain words, and what each means; "points" place a level on the 0-100 scale
ACTIVITY_LEVELS = {
    0: (lazy_gettext("Not yet"), lazy_gettext("You have not done these things in the last 3 months.")),
    1: (lazy_gettext("Some"), lazy_gettext("You have done some of these things in the last 3 months.")),
    2: (lazy_gettext("Many"), lazy_gettext("You have done many of these things in the last 3 months.")),
}
RATING_LEVELS = {
    1: (lazy_gettext("Needs support"), lazy_gettext("You can do few of these things yet; with some help you will.")),
    2: (lazy_gettext("Getting started"), lazy_gettext("You can do simple things and sometimes need help.")),
    3: (lazy_gettext("Good"), lazy_gettext("You can do most everyday tasks on your own.")),
    4: (lazy_gettext("Confident"), lazy_gettext("You do these well and could help others.")),
}
PART_NAMES = {
    "dsi_activities": lazy_gettext("What you have done online in the last 3 months"),
    "area_percent": lazy_gettext("How you rate your skills, and the quiz"),
}


@dataclass
class AreaResult:
    area: str
    name: str
    level: str  #: plain words, in the page's language
    meaning: str  #: what the level means
    points: float  #: 0-100
    weak: bool
    advice: str


@dataclass
class Part:
    key: str  #: the indicator, e.g. ``sat_score``
    name: str
    points: float  #: 0-100
    weight: float
    areas: list[AreaResult] = field(default_factory=list)
    note: str = ""  #: why a part has no areas (e.g. no internet use)


@dataclass
class PersonalResult:
    headline: float | None  #: 0-100, the average of the parts
    parts: list[Part]

    @property
    def weak_areas(self) -> list[AreaResult]:
        """Each weak area once, in area order, with its next step."""
        seen: dict[str, AreaResult] = {}
        for part in self.parts:
            for a in part.areas:
                if a.weak and a.area not in seen:
                    seen[a.area] = a
        return [seen[k] for k in sorted(seen)]

    @property
    def equal_weights(self) -> bool:
        return len({p.weight for p in self.parts}) <= 1


def audience(instrument: Instrument) -> str:
    return "officials" if instrument.scoring.get("audience") == "officials" else "residents"


def _blocks(instrument: Instrument) -> list[dict]:
    return [b for b in instrument.scoring.get("blocks") or [] if isinstance(b, dict)]


def _source(instrument: Instrument, key: str) -> dict | None:
    """The block that makes indicator ``key``."""
    for block in _blocks(instrument):
        prefix = block.get("prefix", "dsi" if block.get("method") == "dsi_activities" else "sat")
        if block.get("method") in ("dsi_activities", "area_percent") and key == f"{prefix}_score":
            return block
        if block.get("output") == key:
            return block
    return None


def _areas(block: dict, scores: dict[str, Any], who: str) -> list[AreaResult]:
    method = block.get("method")
    prefix = block.get("prefix", "dsi" if method == "dsi_activities" else "sat")
    found = sorted(k.rsplit("_", 1)[1] for k in scores if k.startswith(f"{prefix}_area_"))
    out = []
    for area in found:
        value = scores.get(f"{prefix}_area_{area}")
        if value is None:
            continue
        if method == "dsi_activities":
            step = int(value)
            (level, meaning), points, weak = ACTIVITY_LEVELS.get(step, ACTIVITY_LEVELS[0]), 50.0 * step, step == 0
        else:
            band = int(scores.get(f"{prefix}_band_{area}") or 1)
            (level, meaning), points, weak = RATING_LEVELS.get(band, RATING_LEVELS[1]), float(value), band <= 2
        out.append(AreaResult(area, str(AREA_NAMES.get(area, area)), str(level), str(meaning), points, weak,
                              str(NEXT_STEPS[who].get(area, ""))))
    return out


def _part(instrument: Instrument, key: str, weight: float, scores: dict[str, Any], who: str) -> Part | None:
    if scores.get(key) is None:
        return None
    block = _source(instrument, key) or {}
    label = block.get("label")
    name = instrument.text(label, language()) if isinstance(label, dict) else str(PART_NAMES.get(
        block.get("method"), key))
    part = Part(key, name, float(scores[key]), weight)
    if block.get("method") in ("dsi_activities", "area_percent"):
        part.areas = _areas(block, scores, who)
        if not part.areas and block.get("method") == "dsi_activities":
            part.note = str(lazy_gettext("You have not used the internet in the last 3 months, so this part is 0."))
    return part


def headline_name(instrument: Instrument) -> str:
    """What the headline is called: the ``mean`` block's ``label``, else "Your digital skills index"."""
    for block in _blocks(instrument):
        if block.get("method") == "mean" and isinstance(block.get("label"), dict):
            return instrument.text(block["label"], language())
        if block.get("method") == "mean":
            break
    return str(lazy_gettext("Your digital skills index"))


def personal_result(instrument: Instrument, scores: dict[str, Any]) -> PersonalResult | None:
    """The result to show for one response, or None when the instrument scores no skills."""
    who = audience(instrument)
    means = [b for b in _blocks(instrument) if b.get("method") == "mean" and isinstance(b.get("output"), str)]
    if means and scores.get(means[0]["output"]) is not None:
        of = means[0].get("of", [])
        weights = of if isinstance(of, dict) else dict.fromkeys(of, 1.0)
        parts = [p for k, w in weights.items() if (p := _part(instrument, k, float(w), scores, who))]
        if any(p.areas or p.note for p in parts):  # a skills index, not e.g. a satisfaction index
            return PersonalResult(float(scores[means[0]["output"]]), parts)
    banded = [b for b in _blocks(instrument) if b.get("method") in ("dsi_activities", "area_percent")]
    for block in banded:
        key = f"{block.get('prefix', 'dsi' if block['method'] == 'dsi_activities' else 'sat')}_score"
        part = _part(instrument, key, 1.0, scores, who)
        if part is not None and part.areas:
            return PersonalResult(None, [part])
    return None

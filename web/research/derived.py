"""Full names, kinds and value labels of derived indicators (the outputs of an instrument's ``scoring``).

A derived indicator is one of three kinds, which decides how it is estimated and shown:

* ``share``: 0/1 per person (``at_least_basic``); shown as the percentage of people, from
  ``design.proportion`` with logit intervals, and the number of people it stands for;
* ``categorical``: a code per person with labelled levels (``dsi_level``, ``dsi_area_1``,
  ``sat_band``); shown as the share of each level, never as a mean of codes;
* ``score``: a number on a scale (``dsi_index`` 0-100); the only kind that gets a mean.

Names come from the catalogs (one message per named output and per name pattern of the
``dsi_activities`` and ``area_percent`` blocks, with the DigComp area as a placeholder); value
labels come from :mod:`surveys.scoring`, which owns the levels. Outputs an imported form invents get
"Derived indicator: <name>" in the user's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import force_locale

import surveys
from web.i18n import _, lazy_gettext, lazy_pgettext

SHARE, SCORE, CATEGORICAL = "share", "score", "categorical"

#: named outputs of the built-in instruments
NAMED = {
    "dsi_index": lazy_gettext("Digital-skills index (0–100)"),
    "at_least_basic": lazy_gettext("At least basic digital skills"),
    "used_online_public_service": lazy_gettext("Used online public services"),
    "satisfaction_index": lazy_gettext("Satisfaction index (0–100)"),
    "internet_user": lazy_gettext("Used the internet in the last 3 months"),
    "competency_index": lazy_gettext("Digital competency index (0–100)"),
    "overall_satisfied": lazy_gettext("Satisfied overall"),
    "knowledge_score": lazy_gettext("Knowledge score (0–100)"),
    "vneid_level2_used": lazy_gettext("Has a level-2 VNeID account and used it"),
    "cashless_used": lazy_gettext("Paid without cash"),
    "helped_by_team": lazy_gettext("Was helped by the community digital technology team"),
    "disability": lazy_gettext("Has a disability (Washington Group questions)"),
    "security_practice": lazy_gettext("Security practice score (0–100)"),
    "uses_shared_systems_daily": lazy_gettext("Uses the shared work systems daily"),
    "sipas_access": lazy_gettext("Satisfied with access to the service (0–100)"),
    "sipas_procedures": lazy_gettext("Satisfied with the procedures (0–100)"),
    "sipas_officials": lazy_gettext("Satisfied with the officials (0–100)"),
    "sipas_results": lazy_gettext("Satisfied with the results (0–100)"),
    "sipas_feedback": lazy_gettext("Satisfied with feedback handling (0–100)"),
    "online_channel": lazy_gettext("Submitted the application online"),
}
#: the headline indices, offered first in the menu
HEADLINE = ("dsi_index", "at_least_basic", "satisfaction_index", "competency_index", "overall_satisfied",
            "internet_user", "used_online_public_service")
DIGCOMP_AREAS = {
    "0": lazy_gettext("device basics"),
    "1": lazy_gettext("information and data literacy"),
    "2": lazy_gettext("communication and collaboration"),
    "3": lazy_gettext("digital content creation"),
    "4": lazy_gettext("safety"),
    "5": lazy_gettext("problem solving"),
}


#: the names of the levels :mod:`surveys.scoring` gives as codes
LEVELS = {
    0: lazy_gettext("No digital skills"), 1: lazy_gettext("Limited"), 2: lazy_gettext("Narrow"),
    3: lazy_gettext("Low"), 4: lazy_gettext("Basic"), 5: lazy_gettext("Above basic"),
}
AREA_LEVELS = {0: lazy_pgettext("skill level", "None"), 1: lazy_gettext("Basic"), 2: lazy_gettext("Above basic")}
BANDS = {1: lazy_gettext("Low"), 2: lazy_gettext("Foundation"), 3: lazy_gettext("Intermediate"),
         4: lazy_gettext("Advanced")}


@dataclass(frozen=True)
class Derived:
    """What the interface needs to know about one derived indicator."""

    label: str
    kind: str | None  #: SHARE, SCORE, CATEGORICAL, or None: decided by the data (0/1 -> share)
    levels: tuple[tuple[str, str], ...] = ()  #: (code, label) of a categorical indicator, in order
    area: str | None = None  #: the DigComp area it belongs to, if any


def _levels(table: dict) -> tuple[tuple[str, str], ...]:
    return tuple((str(code), str(text)) for code, text in table.items())


def _area(code: str) -> str:
    return str(DIGCOMP_AREAS.get(code, code))


def _block_prefixes(instrument: surveys.Instrument) -> dict[str, str]:
    """Prefix -> method of the blocks that name their outputs by pattern."""
    out = {}
    for block in instrument.scoring.get("blocks") or []:
        method = block.get("method")
        if method in ("dsi_activities", "area_percent"):
            out[block.get("prefix", "dsi" if method == "dsi_activities" else "sat")] = method
    return out


#: (block method, what, per area?) -> (name in the current locale, kind, value labels)
PATTERNS = {
    ("dsi_activities", "area", True): (lambda a: _("Digital activities, %(area)s: level", area=a), CATEGORICAL,
                                       AREA_LEVELS),
    ("dsi_activities", "level", False): (lambda a: _("Digital skills level (DSI)"), CATEGORICAL, LEVELS),
    ("dsi_activities", "score", False): (lambda a: _("Digital activities score (0–100)"), SCORE, {}),
    ("area_percent", "area", True): (lambda a: _("Self-assessed skills, %(area)s (0–100)", area=a), SCORE, {}),
    ("area_percent", "band", True): (lambda a: _("Self-assessed skills, %(area)s: band", area=a), CATEGORICAL,
                                     BANDS),
    ("area_percent", "band", False): (lambda a: _("Self-assessed skills: band"), CATEGORICAL, BANDS),
    ("area_percent", "score", False): (lambda a: _("Self-assessed skills score (0–100)"), SCORE, {}),
}


def describe(instrument: surveys.Instrument, name: str, lang: str) -> Derived:
    """The label, kind and levels of derived indicator ``name``, in the current locale (labels of
    levels in ``lang``)."""
    if name in NAMED:
        return Derived(str(NAMED[name]), None)
    for prefix, method in _block_prefixes(instrument).items():
        match = re.fullmatch(rf"{re.escape(prefix)}_(area|band|level|score)(?:_(\w+))?", name)
        pattern = PATTERNS.get((method, match.group(1), match.group(2) is not None)) if match else None
        if pattern is not None:
            label, kind, levels = pattern
            code = match.group(2)
            return Derived(label(_area(code) if code else ""), kind, _levels(levels), code)
    return Derived(_("Derived indicator: %(name)s", name=name), None)


def label(instrument: surveys.Instrument, name: str) -> dict[str, str]:
    """The indicator's name in each language (for the codebook of every export)."""
    out = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            out[lang] = describe(instrument, name, lang).label
    return out


def value_labels(instrument: surveys.Instrument, name: str) -> list[tuple[str, dict[str, str]]]:
    """(code, labels in each language) of an indicator with levels (DSI level, bands), else []."""
    by_lang = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            by_lang[lang] = describe(instrument, name, lang).levels
    return [(code, {lang: dict(by_lang[lang])[code] for lang in by_lang}) for code, _text in by_lang["vi"]]

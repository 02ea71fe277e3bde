"""Names and value labels of the derived variables (scores and indicators computed by :mod:`surveys.scoring`).

The names are messages in the translation catalogs (one per variable, or one per pattern such as
``<prefix>_area_<a>`` with the DigComp area filled in); the value labels of levels and bands are the
bilingual tables of :mod:`surveys.scoring`. Used by the codebook (so every export format) and by the
research pages.
"""

from __future__ import annotations

import re

from flask_babel import force_locale

from surveys.scoring import AREA_LEVELS, BANDS, LEVELS
from web.i18n import lazy_gettext
from web.respond.result import AREA_NAMES

#: derived variables with a name of their own
NAMED = {
    "dsi_index": lazy_gettext("Digital-skills index (0–100)"),
    "at_least_basic": lazy_gettext("At least basic digital skills"),
    "used_online_public_service": lazy_gettext("Used online public services"),
    "satisfaction_index": lazy_gettext("Satisfaction index (0–100)"),
    "internet_user": lazy_gettext("Used the internet in the last 3 months"),
    "competency_index": lazy_gettext("Digital competency index (0–100)"),
    "overall_satisfied": lazy_gettext("Satisfied overall"),
    "dsi_score": lazy_gettext("Digital activities score (0–100)"),
    "sat_score": lazy_gettext("Self-assessed skills score (0–100)"),
    "knowledge_score": lazy_gettext("Knowledge score (0–100)"),
    "dsi_level": lazy_gettext("Digital skills level (DSI 2.0)"),
    "sat_band": lazy_gettext("Self-assessed skills band (DigCompSAT)"),
    "offsat_score": lazy_gettext("Self-assessed skills score (0–100)"),
    "offsat_band": lazy_gettext("Self-assessed skills band (DigCompSAT)"),
    "vneid_level2_used": lazy_gettext("Used a level-2 VNeID account"),
    "cashless_used": lazy_gettext("Paid without cash"),
    "helped_by_team": lazy_gettext("Helped by the community digital technology team"),
    "disability": lazy_gettext("Has a disability (Washington Group short set)"),
    "security_practice": lazy_gettext("Safe-practice score (0–100)"),
    "uses_shared_systems_daily": lazy_gettext("Uses the shared e-office systems daily"),
    "online_channel": lazy_gettext("Used an online channel"),
    "sipas_access": lazy_gettext("Satisfaction: access to the service (0–100)"),
    "sipas_procedures": lazy_gettext("Satisfaction: procedures (0–100)"),
    "sipas_officials": lazy_gettext("Satisfaction: officials (0–100)"),
    "sipas_results": lazy_gettext("Satisfaction: results (0–100)"),
    "sipas_feedback": lazy_gettext("Satisfaction: handling of feedback (0–100)"),
}
_PATTERNS = [  # (regular expression, message with %(area)s, which value labels)
    (re.compile(r"^dsi_area_(?P<area>\d)$"), lazy_gettext("Digital activities level: %(area)s"), AREA_LEVELS),
    (re.compile(r"^(?:off)?sat_area_(?P<area>\d)$"),
     lazy_gettext("Self-assessed skills, %% of the maximum: %(area)s"), None),
    (re.compile(r"^(?:off)?sat_band_(?P<area>\d)$"), lazy_gettext("Self-assessed skills band: %(area)s"), BANDS),
]
_LEVELS = {"dsi_level": LEVELS, "sat_band": BANDS, "offsat_band": BANDS}
LANGS = ("vi", "en")


def label(name: str) -> dict[str, str] | None:
    """The variable's name in each language (None for a variable this module does not know)."""
    if name in NAMED:
        return _each_language(lambda: str(NAMED[name]))
    for pattern, message, _ in _PATTERNS:
        if match := pattern.match(name):
            area = match["area"]
            return _each_language(lambda m=message, a=area: str(m) % {"area": str(AREA_NAMES.get(a, a))})
    return None


def value_labels(name: str) -> list[tuple[str, dict[str, str]]]:
    """(code, labels) of a derived variable with levels (DSI level, DigCompSAT band), else []."""
    levels = _LEVELS.get(name)
    if levels is None:
        levels = next((found for pattern, _, found in _PATTERNS if pattern.match(name)), None)
    return [(str(code), dict(text)) for code, text in levels.items()] if levels else []


def _each_language(make) -> dict[str, str]:
    out = {}
    for lang in LANGS:
        with force_locale(lang):
            out[lang] = make()
    return out

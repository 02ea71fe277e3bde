"""What a researcher can choose: indicators (derived scores and single questions) and groups, with labels.

Labels of answers and questions come from the instrument (data, in every language it has); the
names of derived indicators and groups are messages in the translation catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from flask_babel import force_locale

import surveys
from web.i18n import _, lazy_gettext
from web.population import AGE_BANDS
from web.research.derived import NAMED
from web.research.weighting import Weighted

#: derived indicators offered first, in this order, by their names (the others follow)
INDICATOR_NAMES = {name: NAMED[name] for name in (
    "dsi_index", "at_least_basic", "used_online_public_service", "satisfaction_index", "internet_user",
    "competency_index", "overall_satisfied", "dsi_score", "sat_score", "knowledge_score")}
#: groups in the order offered; a group is offered when the survey's data has it
GROUP_NAMES = {
    "age_band": lazy_gettext("Age band"),
    "sex": lazy_gettext("Sex"),
    "ethnicity": lazy_gettext("Ethnicity"),
    "area_type": lazy_gettext("Ward or commune (phường/xã)"),
    "urban_rural": lazy_gettext("Urban or rural (as answered)"),
    "education": lazy_gettext("Education"),
    "disability": lazy_gettext("Disability"),
    "income": lazy_gettext("Household income"),
}
NUMERIC_QUESTION_TYPES = ("yesno", "likert", "integer", "decimal")


@dataclass(frozen=True)
class Indicator:
    name: str
    label: str
    share: bool  #: 0/1, shown as a percentage


def _is_share(series: pd.Series) -> bool:
    values = pd.to_numeric(series, errors="coerce").dropna()
    return len(values) > 0 and bool(values.isin([0, 1]).all())


def _facts(data: Weighted, name: str) -> tuple[bool, bool]:
    """Whether column ``name`` has data and whether it is 0/1; kept with the cached design, because
    reading every column of a large table on each request took longer than the rest of the page."""
    if name not in data.facts:
        has = name in data.frame.columns and bool(data.frame[name].notna().any())
        data.facts[name] = (has, has and _is_share(data.frame[name]))
    return data.facts[name]


def indicators(instrument: surveys.Instrument, data: Weighted, lang: str) -> list[Indicator]:
    """Derived indicators with data first (named ones first), then yes/no, scale and number questions."""
    found = []
    names = surveys.indicator_names(instrument)
    ordered = [n for n in INDICATOR_NAMES if n in names] + [n for n in names if n not in INDICATOR_NAMES]
    for name in ordered:
        has, share = _facts(data, name)
        if has:
            found.append(Indicator(name, str(INDICATOR_NAMES.get(name, name)), share))
    taken = {i.name for i in found}
    for q in instrument.variables:
        if q.type in NUMERIC_QUESTION_TYPES and q.name not in taken:
            has, share = _facts(data, q.name)
            if has:
                found.append(Indicator(q.name, f"{q.name}: {instrument.text(q.label, lang)}", share))
    return found


def groups(frame: pd.DataFrame) -> list[str]:
    """The group columns this survey's data has."""
    return [g for g in GROUP_NAMES if g in frame.columns and frame[g].notna().any()]


def value_label(instrument: surveys.Instrument, column: str, value, lang: str) -> str:
    """The label of a group's value in ``lang`` (choice labels from the instrument)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if column == "age_band":
        with force_locale(lang):
            return _("%(band)s years", band=str(value).replace("-", "–")) if value != AGE_BANDS[-1] \
                else _("60 and over")
    if column == "area_type":
        with force_locale(lang):
            return _("Urban wards (phường)") if value == "urban" else _("Rural communes (xã)")
    if column == "disability":
        with force_locale(lang):
            return _("With a disability") if str(value) in ("1", "1.0", "True") else _("Without a disability")
    try:
        question = instrument.question(column)
    except KeyError:
        return str(value)
    return question.choice_label(str(value), lang, instrument.default_language)


def labels_for(instrument: surveys.Instrument, frame: pd.DataFrame, columns: list[str],
               ward_names: dict[int, str]) -> dict[str, dict]:
    """``{column: {value: {"vi": ..., "en": ...}}}`` for :func:`analysis.left_behind` sentences."""
    out: dict[str, dict] = {}
    for column in columns:
        if column == "ward_code":
            out[column] = {code: {"vi": name, "en": name} for code, name in ward_names.items()}
            continue
        values = frame[column].dropna().unique()
        out[column] = {v: {lang: value_label(instrument, column, v, lang) for lang in ("vi", "en")} for v in values}
    return out

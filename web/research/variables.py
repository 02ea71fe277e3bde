"""What a researcher can choose: indicators (derived indicators and questions) and groups, with labels.

Labels of answers and questions come from the instrument (data, in every language it has); the
names of derived indicators (:mod:`web.research.derived`) and groups are messages in the catalogs.
Every indicator has a kind (share, score or categorical) that decides how it is estimated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import force_locale

import surveys
from analysis.lazy import pandas as pd
from surveys.questions import kind as question_kind
from web.i18n import _, lazy_gettext
from web.population import AGE_BANDS
from web.research import derived
from web.research.weighting import Weighted

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
    "round": lazy_gettext("Round (wave)"),
}
#: identifying answers (the year of birth) are never offered as indicators; which questions are, and how
#: (yes/no -> share of "yes", a choice -> distribution, a number -> mean), is their type's ``indicator``
NOT_OFFERED = ("birth_year",)


@dataclass(frozen=True)
class Indicator:
    """An indicator a researcher can choose: what it is called, how it is estimated, where it is listed."""

    name: str
    label: str
    kind: str  #: derived.SHARE, derived.SCORE or derived.CATEGORICAL
    group: str  #: the menu group it is listed under, in the user's language
    levels: tuple[tuple[str, str], ...] = ()  #: (code, label) of a categorical indicator, in order

    @property
    def share(self) -> bool:
        """0/1: estimated as a proportion and shown as a percentage of people."""
        return self.kind == derived.SHARE

    @property
    def categorical(self) -> bool:
        return self.kind == derived.CATEGORICAL

    def level_label(self, code: str) -> str:
        return next((text for c, text in self.levels if c == code), code)


def _facts(data: Weighted, name: str) -> tuple[bool, bool]:
    """Whether column ``name`` has data and whether it is 0/1 (read when the design was built)."""
    return data.facts.get(name, (False, False))


def _question_label(instrument: surveys.Instrument, q, lang: str) -> str:
    """A question's label; a grid row's label follows its grid's ("Difficulty …: seeing?")."""
    own = instrument.text(q.label, lang)
    grid = next((g for g in instrument.questions if g.type == "grid" and q in g.items), None)
    return f"{instrument.text(grid.label, lang)}: {own}" if grid is not None else own


def _derived(instrument: surveys.Instrument, data: Weighted, lang: str) -> list[Indicator]:
    names = surveys.indicator_names(instrument)
    ordered = [n for n in derived.HEADLINE if n in names] + [n for n in names if n not in derived.HEADLINE]
    found = []
    for name in ordered:
        has, is_01 = _facts(data, name)
        if not has:
            continue
        info = derived.describe(instrument, name, lang)
        kind = info.kind or (derived.SHARE if is_01 else derived.SCORE)
        group = _("Headline indicators") if name in derived.HEADLINE else (
            _("DigComp areas") if info.area is not None else _("Other derived indicators"))
        found.append(Indicator(name, info.label, kind, group, info.levels))
    return found


def indicators(instrument: surveys.Instrument, data: Weighted, lang: str) -> list[Indicator]:
    """Derived indicators with data (headline first, then DigComp areas, then others), then each
    question with data by its label, grouped by the page it is on."""
    found = _derived(instrument, data, lang)
    taken = {i.name for i in found}
    for page in instrument.pages:
        group = _("Questions: %(page)s", page=instrument.text(page.title, lang))
        for q in (v for question in page.questions for v in question.variables):
            kind = question_kind(q.type).indicator
            if not kind or q.name in taken or q.name in NOT_OFFERED:
                continue
            has, _is_01 = _facts(data, q.name)
            if has:
                levels = tuple((c.code, instrument.text(c.label, lang)) for c in q.choices)
                found.append(Indicator(q.name, _question_label(instrument, q, lang), kind, group,
                                       levels if kind == derived.CATEGORICAL else ()))
    return found


def menu(offered: list[Indicator]) -> list[tuple[str, list[Indicator]]]:
    """The indicators by menu group, groups in the order they first appear."""
    groups: dict[str, list[Indicator]] = {}
    for indicator in offered:
        groups.setdefault(indicator.group, []).append(indicator)
    return list(groups.items())


def find(offered: list[Indicator], text: str) -> Indicator | None:
    """The search box of the menu: the indicator whose name or label is ``text`` (any case), else the
    first whose name or label contains it; None when none does."""
    wanted = text.strip().casefold()
    exact = next((i for i in offered if wanted in (i.name.casefold(), i.label.casefold())), None)
    return exact or next((i for i in offered if wanted in i.name.casefold() or wanted in i.label.casefold()), None)


def groups(frame: pd.DataFrame, facts: Mapping[str, tuple[bool, bool]] | None = None) -> list[str]:
    """The group columns this survey's data has (read from a weighted design's ``facts`` when given: reading
    the columns takes 0.2 s a request at 100,000 responses)."""
    if facts:
        return [g for g in GROUP_NAMES if facts.get(g, (False, False))[0]]
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
    if column == "round":
        with force_locale(lang):
            return _("Round %(number)s", number=value)
    if column == "disability":
        with force_locale(lang):
            return _("With a disability") if str(value) in ("1", "1.0", "True") else _("Without a disability")
    try:
        question = instrument.question(column)
    except KeyError:
        return str(value)
    return question.choice_label(str(value), lang, instrument.default_language)


def labels_for(instrument: surveys.Instrument, frame: pd.DataFrame, columns: list[str], lang: str) -> dict[str, dict]:
    """``{column: {value: label in lang}}`` for the left-behind ranking's sentences."""
    return {column: {v: value_label(instrument, column, v, lang) for v in frame[column].dropna().unique()}
            for column in columns}

"""The left-behind report in words: one sentence per cell, in the page's language.

:func:`analysis.left_behind` gives codes and numbers; this module words them. Every sentence comes
whole from the catalogs, one message per sentence shape: where (a ward, a ward's group, a group of the
survey's whole area) x what kind of indicator (a score in points, a share in %) x which way (below or above
the whole area: one province, the provinces surveyed or the country). Group names are noun phrases ("Dao people aged 60 and over", "người Dao từ 60 tuổi trở lên") built
from messages too, so a third language is a catalog, not code.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from analysis.lazy import pandas as pd
from surveys import areas
from web.i18n import _, format_decimal
from web.population import AGE_BANDS

#: the sentence of each shape, looked up when a sentence is made (so in the request's language); ``whole``
#: and ``across`` name the survey's whole area (:func:`comparison`)
SENTENCES: dict[tuple[str, str, str], Callable[..., str]] = {
    ("area", "score", "below"): lambda **k: _(
        "In %(area)s, the %(indicator)s is %(value)s points (±%(moe)s), %(gap)s points below %(whole)s.", **k),
    ("area", "score", "above"): lambda **k: _(
        "In %(area)s, the %(indicator)s is %(value)s points (±%(moe)s), %(gap)s points above %(whole)s.", **k),
    ("area", "share", "below"): lambda **k: _(
        "In %(area)s, %(indicator)s: %(value)s%% of residents (±%(moe)s points), %(gap)s percentage points below "
        "%(whole)s.", **k),
    ("area", "share", "above"): lambda **k: _(
        "In %(area)s, %(indicator)s: %(value)s%% of residents (±%(moe)s points), %(gap)s percentage points above "
        "%(whole)s.", **k),
    ("area group", "score", "below"): lambda **k: _(
        "In %(area)s, the %(indicator)s of %(group)s is %(value)s points (±%(moe)s), %(gap)s points below "
        "%(whole)s.", **k),
    ("area group", "score", "above"): lambda **k: _(
        "In %(area)s, the %(indicator)s of %(group)s is %(value)s points (±%(moe)s), %(gap)s points above "
        "%(whole)s.", **k),
    ("area group", "share", "below"): lambda **k: _(
        "In %(area)s, %(indicator)s: %(value)s%% of %(group)s (±%(moe)s points), %(gap)s percentage points below "
        "%(whole)s.", **k),
    ("area group", "share", "above"): lambda **k: _(
        "In %(area)s, %(indicator)s: %(value)s%% of %(group)s (±%(moe)s points), %(gap)s percentage points above "
        "%(whole)s.", **k),
    ("group", "score", "below"): lambda **k: _(
        "%(across)s, the %(indicator)s of %(group)s is %(value)s points (±%(moe)s), %(gap)s points below the "
        "overall average.", **k),
    ("group", "score", "above"): lambda **k: _(
        "%(across)s, the %(indicator)s of %(group)s is %(value)s points (±%(moe)s), %(gap)s points above the "
        "overall average.", **k),
    ("group", "share", "below"): lambda **k: _(
        "%(across)s, %(indicator)s: %(value)s%% of %(group)s (±%(moe)s points), %(gap)s percentage points below "
        "the overall average.", **k),
    ("group", "share", "above"): lambda **k: _(
        "%(across)s, %(indicator)s: %(value)s%% of %(group)s (±%(moe)s points), %(gap)s percentage points above "
        "the overall average.", **k),
}


def comparison(provinces: tuple[int, ...]) -> dict[str, str]:
    """How the sentences name the whole area the cells are compared with: ``whole`` (after "below") and
    ``across`` (opening a sentence about a group of the whole area): the one province by name, else the
    country when every province is surveyed, else the survey area."""
    codes = areas.province_codes(provinces)
    if len(codes) == 1:
        name = areas.province_names().get(codes[0], str(codes[0]))
        return {"whole": _("%(province)s as a whole", province=name), "across": _("Across %(province)s", province=name)}
    if len(codes) == len(areas.provinces()):
        return {"whole": _("the whole country"), "across": _("Across the whole country")}
    return {"whole": _("the whole survey area"), "across": _("Across the whole survey area")}


def _lower_first(text: str) -> str:
    """``text`` inside a sentence: its first letter in lower case, unless it starts an acronym."""
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


def _number(value: float) -> str:
    """A whole number in the request's locale; "–" where it cannot be computed (a variance undefined)."""
    return "–" if pd.isna(value) else format_decimal(value, format="#,##0")


def _age(value: str) -> str:
    if value == AGE_BANDS[-1]:
        return _("aged 60 and over")
    low, _sep, high = value.partition("-")
    return _("aged %(low)s to %(high)s", low=low, high=high)


#: the words a group adds after the head noun ("... aged 60 and over", "... with a disability")
MODIFIERS: dict[str, Callable[[str, str], str]] = {
    "age_band": lambda value, label: _age(value),
    "area_type": lambda value, label: _("in urban wards") if value == "urban" else _("in rural communes"),
    "urban_rural": lambda value, label: _("living in urban areas") if value == "urban"
    else _("living in rural areas"),
    "disability": lambda value, label: _("with a disability") if value in ("1", "1.0", "True")
    else _("without a disability"),
    "education": lambda value, label: _("with education: %(level)s", level=_lower_first(label)),
    "income": lambda value, label: _("with household income: %(level)s", level=_lower_first(label)),
}


def group_phrase(cell: dict[str, str], labels: dict[str, str]) -> str:
    """The people of a cell as a noun phrase: ``cell`` maps group columns to codes, ``labels`` to labels."""
    sex, ethnicity = cell.get("sex"), labels.get("ethnicity")
    if sex in ("1", "2") and ethnicity:
        head = _("%(ethnicity)s men", ethnicity=ethnicity) if sex == "1" else \
            _("%(ethnicity)s women", ethnicity=ethnicity)
    elif sex in ("1", "2"):
        head = _("men") if sex == "1" else _("women")
    elif ethnicity:
        head = _("%(ethnicity)s people", ethnicity=ethnicity)
    else:
        head = _("people")
    words = [head]
    for column, value in cell.items():
        if column in ("sex", "ethnicity"):
            continue
        if column in MODIFIERS:
            words.append(MODIFIERS[column](value, labels.get(column, value)))
        else:
            words.append(_("with %(group)s: %(value)s", group=column, value=_lower_first(labels.get(column, value))))
    return " ".join(words)


def indicator_phrase(label: str) -> str:
    """An indicator's name inside a sentence: a title ("Digital-skills index") in lower case, a question
    in quotes."""
    name, _sep, rest = label.partition(": ")
    label = rest if rest and name.replace("-", "_").isidentifier() else label  # "kobo-age: Age" as "Age"
    label = re.sub(r"\s*\(0[–-]100\)$", "", label)  # the sentence says "points"
    if label.endswith("?") or len(label) > 60:
        return f"“{label.rstrip('?')}”"
    return _lower_first(label)


def sentence(row: pd.Series, area_column: str, groups: list[str], area_names: dict, group_labels: dict,
             indicator: str, share: bool, whole: dict[str, str]) -> str:
    """The sentence of one report row (a cell that is not suppressed); ``whole`` from :func:`comparison`."""
    scale = 100.0 if share else 1.0
    cell = {g: str(row[g]) for g in groups if g in row and pd.notna(row[g])}
    area = row.get(area_column)
    where = ("area group" if cell else "area") if pd.notna(area) else "group"
    numbers = {
        "value": _number(row["estimate"] * scale),
        "moe": _number(max(row["ci_high"] - row["estimate"], row["estimate"] - row["ci_low"]) * scale),
        "gap": _number(abs(row["gap"]) * scale),
    }
    words = {"indicator": indicator, **numbers, **whole}
    if where != "group":
        words["area"] = area_names.get(area, area_names.get(_area_key(area), str(area)))  # "281" (a former
        # district's code, a text) as it is; a ward's code read as 12.0 or "12" as its number
    if cell:
        words["group"] = group_phrase(cell, {g: group_labels.get(g, {}).get(v, v) for g, v in cell.items()})
    shape = (where, "share" if share else "score", "below" if row["gap"] < 0 else "above")
    return SENTENCES[shape](**words)


def _area_key(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value

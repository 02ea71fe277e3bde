"""A researcher's question, read from the query string, and the labelled table that answers it.

``?indicator=&level=&by=&by2=`` (the API also takes ``by=ward`` for ``level=ward``). Anything not
offered for this survey is a 404 on pages and a 422 on the API, never a 500.

Levels: the whole province, a ward/commune, and the former district (abolished on 1 July 2025) where a
conversion table from new wards to former districts exists for the province
(:func:`surveys.areas.former_districts`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from flask import abort, current_app

import surveys
from surveys import areas
from web import db
from web.catalog import current_version, instrument_of, ward_names
from web.i18n import _, language
from web.privacy.suppression import table_family
from web.research import results, variables
from web.research.weighting import Weighted, weighted

LEVELS = ("province", "ward", "former_district")
LEVEL_COLUMNS = {"province": None, "ward": "ward_code", "former_district": "former_district"}


class BadQuery(ValueError):
    """A parameter names something this survey does not offer."""


@dataclass
class Query:
    slug: str
    instrument: surveys.Instrument
    data: Weighted
    indicator: variables.Indicator | None
    level: str
    by: str
    by2: str
    offered: list[variables.Indicator]
    groups: list[str]
    levels: tuple[str, ...] = LEVELS  #: the levels offered for this province
    not_found: str = ""  #: a search (``?find=``) that matched no indicator

    @property
    def columns(self) -> list[str]:
        return [c for c in (LEVEL_COLUMNS[self.level], self.by, self.by2) if c]

    @property
    def args(self) -> dict[str, str]:
        out = {"indicator": self.indicator.name if self.indicator else "", "level": self.level}
        out.update({k: v for k, v in (("by", self.by), ("by2", self.by2)) if v})
        return out

    @property
    def scale(self) -> float:
        return 100.0 if self.indicator and self.indicator.share else 1.0


def load_instrument(slug: str) -> surveys.Instrument:
    version = current_version(db.session(), slug)
    if version is None:
        abort(404)
    return instrument_of(version)


def read(slug: str, args, *, api: bool = False) -> Query:
    """The query in ``args``; raises :class:`BadQuery` for a parameter this survey does not offer."""
    instrument = load_instrument(slug)
    data = weighted(db.session(), slug, current_app.config["KHAOSAT_PROVINCE"])
    offered = variables.indicators(instrument, data, language())
    groups = variables.groups(data.frame) if not data.frame.empty else []
    wanted = args.get("find", "").strip()[:100]
    searched = variables.find(offered, wanted) if wanted else None
    asked = searched.name if searched else args.get("indicator") or (offered[0].name if offered else "")
    indicator = next((i for i in offered if i.name == asked), None)
    if asked and indicator is None:
        raise BadQuery("indicator")
    level, by, by2 = args.get("level", "province"), args.get("by", ""), args.get("by2", "")
    if api and by == "ward":
        level, by = "ward", ""
    levels = offered_levels(current_app.config["KHAOSAT_PROVINCE"])
    if level not in levels:
        raise BadQuery("level")
    for group in (by, by2):
        if group and group not in groups:
            raise BadQuery("by")
    if indicator is not None:  # a variable is not grouped by itself (sex by sex is the distribution of sex)
        by, by2 = ("" if by == indicator.name else by), ("" if by2 == indicator.name else by2)
    if by2 == by:
        by2 = ""
    return Query(slug, instrument, data, indicator, level, by, by2, offered, groups, levels,
                 wanted if wanted and searched is None else "")


def offered_levels(province: int) -> tuple[str, ...]:
    """Every level, less the former district where the province has no conversion table."""
    return tuple(lv for lv in LEVELS if lv != "former_district" or areas.former_districts(province))


def former_district_note(province: int) -> dict:
    """How the province's wards map to former districts, for the note under a table by former district:
    counts, the source, and each ward formed from parts of several former districts (name order)."""
    districts = areas.former_districts(province)
    names = {w.code: w.name for w in areas.wards(province)}
    labels = former_district_labels(province)
    mixed = sorted(((names[code], labels[d.code], d.sources) for code, d in districts.items() if not d.is_whole),
                   key=lambda row: areas.sort_key(row[0]))
    return {"wards": len(names), "districts": len(areas.former_district_names(province)), "mixed": len(mixed),
            "several": sum(d.code == areas.SEVERAL for d in districts.values()),
            "unknown": len(areas.ward_codes(province) - set(districts)), "mixed_wards": mixed,
            "source": areas.former_districts_source()}


def read_or_404(slug: str, args) -> Query:
    try:
        return read(slug, args)
    except BadQuery:
        abort(404)


def table(query: Query) -> pd.DataFrame:
    """The estimates, with a ``label`` column per key column and a ``cell`` label, in the user's language."""
    if query.indicator is None or query.data.design is None:  # nothing to estimate yet: an empty, labelled table
        return label(query, pd.DataFrame(columns=[*query.columns, *results.COLUMNS]))
    out = results.estimate(query.data.design, query.indicator, query.columns, family=cell_family(query))
    if query.indicator.categorical:
        order = {code: i for i, (code, _label) in enumerate(query.indicator.levels)}
        out["category_label"] = out["category"].map(query.indicator.level_label)
        out = out.assign(_order=out["category"].map(order).fillna(len(order))).sort_values(
            [*query.columns, "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    return label(query, out)


def cell_family(query: Query):
    """The protected tables of the query's indicator (built once per weighted design). Indicators that
    count the same respondents share one family, so their tables hide the same cells: otherwise a cell
    hidden in one indicator's table could be read off another's."""
    records = results.counted(query.data.design, query.indicator.name)
    key = ("cells", hashlib.sha256(np.sort(records.index.to_numpy()).tobytes()).hexdigest())
    if key not in query.data.families:
        query.data.families[key] = table_family(records, query.groups)
    return query.data.families[key]


def former_district_labels(province: int) -> dict[str, str]:
    """Former district code -> its name, with "several" and "not known" in the user's language."""
    return {**areas.former_district_names(province), areas.SEVERAL: _("Several former districts"),
            areas.UNKNOWN: _("Former district not known")}


def label(query: Query, out: pd.DataFrame) -> pd.DataFrame:
    lang = language()
    province = current_app.config["KHAOSAT_PROVINCE"]
    names = ward_names(db.session(), province)
    parts = []
    for column in query.columns:
        if column == "ward_code":
            out["ward"] = out["ward_code"].map(lambda c: "" if pd.isna(c) else names.get(int(c), str(c)))
            parts.append(out["ward"])
        elif column == "former_district":
            districts = former_district_labels(province)
            out["former_district_label"] = out[column].map(lambda c, d=districts: "" if pd.isna(c) else d.get(c, c))
            parts.append(out["former_district_label"])
        else:
            out[f"{column}_label"] = out[column].map(lambda v, c=column: variables.value_label(
                query.instrument, c, v, lang))
            parts.append(out[f"{column}_label"])
    whole = _("Whole city")
    out["cell"] = [" · ".join(p for p in row if p) or whole for row in zip(*parts, strict=True)] if parts \
        else whole
    return out


def benchmark(query: Query) -> float | None:
    if query.indicator is None or query.data.design is None:
        return None
    return results.overall(query.data.design, query.indicator)

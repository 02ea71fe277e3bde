"""A researcher's question, read from the query string, and the labelled table that answers it.

``?indicator=&level=&by=&by2=`` (the API also takes ``by=ward`` for ``level=ward``). Anything not
offered for this survey is a 404 on pages and a 422 on the API, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from flask import abort, current_app

import surveys
from web import db
from web.catalog import current_version, instrument_of, ward_names
from web.i18n import _, language
from web.research import results, variables
from web.research.weighting import Weighted, weighted

LEVELS = ("province", "ward")


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

    @property
    def columns(self) -> list[str]:
        return [c for c in (("ward_code",) if self.level == "ward" else ()) + (self.by, self.by2) if c]

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
    offered = variables.indicators(instrument, data.frame, language()) if not data.frame.empty else []
    groups = variables.groups(data.frame) if not data.frame.empty else []
    asked = args.get("indicator") or (offered[0].name if offered else "")
    indicator = next((i for i in offered if i.name == asked), None)
    if asked and indicator is None:
        raise BadQuery("indicator")
    level, by, by2 = args.get("level", "province"), args.get("by", ""), args.get("by2", "")
    if api and by == "ward":
        level, by = "ward", ""
    if level not in LEVELS:
        raise BadQuery("level")
    for group in (by, by2):
        if group and group not in groups:
            raise BadQuery("by")
    if by2 == by:
        by2 = ""
    return Query(slug, instrument, data, indicator, level, by, by2, offered, groups)


def read_or_404(slug: str, args) -> Query:
    try:
        return read(slug, args)
    except BadQuery:
        abort(404)


def table(query: Query) -> pd.DataFrame:
    """The estimates, with a ``label`` column per key column and a ``cell`` label, in the user's language."""
    if query.indicator is None or query.data.design is None:  # nothing to estimate yet: an empty, labelled table
        return label(query, pd.DataFrame(columns=[*query.columns, *results.COLUMNS]))
    out = results.estimate(query.data.design, query.indicator.name, query.columns,
                           current_app.config["MIN_CELL_COUNT"])
    return label(query, out)


def label(query: Query, out: pd.DataFrame) -> pd.DataFrame:
    lang = language()
    names = ward_names(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    parts = []
    for column in query.columns:
        if column == "ward_code":
            out["ward"] = out["ward_code"].map(lambda c: "" if pd.isna(c) else names.get(int(c), str(c)))
            parts.append(out["ward"])
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
    return results.overall(query.data.design, query.indicator.name)

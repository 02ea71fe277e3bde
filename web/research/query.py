"""A researcher's question, read from the query string, and the labelled table that answers it.

``?indicator=&level=&by=&by2=`` (the API also takes ``by=ward`` for ``level=ward``). Anything not
offered for this survey is a 404 on pages and a 422 on the API, never a 500.

Levels: the whole area the survey covers (``national`` when it covers several provinces, else ``province``),
the province (surveys covering several), a ward/commune, and the former district (abolished on 1 July 2025) where a
conversion table from new wards to former districts exists for the province
(:func:`surveys.areas.former_districts`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import abort, current_app, request

import surveys
from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from surveys import areas, collation
from web import db
from web.auth import requesting_user
from web.cache import cached
from web.catalog import instrument_of, reported_version, survey_provinces, ward_names
from web.i18n import _, language
from web.privacy.suppression import table_family
from web.research import in_database, results, variables, weighting
from web.research.weighting import Weighted, current

T = TypeVar("T")
LEVELS = ("national", "province", "ward", "former_district")
LEVEL_COLUMNS = {"national": None, "province": "province_code", "ward": "ward_code",
                 "former_district": "former_district"}


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
    levels: tuple[str, ...] = LEVELS  #: the levels offered for the survey's provinces
    provinces: tuple[int, ...] = ()  #: the provinces the survey covers
    not_found: str = ""  #: a search (``?find=``) that matched no indicator
    pending: bool = False  #: newer responses are being added to ``data`` in the background
    #: a survey over the in-memory limit (``data`` None): its roll-up in the database (:mod:`web.research.in_database`)
    figures: in_database.Served | None = None
    not_crossed: str = ""  #: a group asked for (``by2``) that the roll-up does not cross with ``by``: left out

    @property
    def columns(self) -> list[str]:
        area = None if self.level == "province" and "national" not in self.levels else LEVEL_COLUMNS[self.level]
        return [c for c in (area, self.by, self.by2) if c]

    @property
    def args(self) -> dict[str, str]:
        out = {"indicator": self.indicator.name if self.indicator else "", "level": self.level}
        out.update({k: v for k, v in (("by", self.by), ("by2", self.by2)) if v})
        return out

    @property
    def scale(self) -> float:
        return 100.0 if self.indicator and self.indicator.share else 1.0


def load_instrument(slug: str) -> surveys.Instrument:
    """The instrument describing ``slug``'s results: its newest fielded version (an admin also
    reaches an archived survey's, whose responses stay in the exports)."""
    user = requesting_user()
    version = reported_version(db.read_session(), slug, archived=user is not None and user.role == "admin")
    if version is None:
        abort(404)
    return instrument_of(version)


def read(slug: str, args, *, api: bool = False, data: Weighted | None = None) -> Query:
    """The query in ``args`` (of ``data``, else of the survey's served design); raises :class:`BadQuery` for a
    parameter this survey does not offer."""
    instrument = load_instrument(slug)
    provinces = survey_provinces(db.read_session(), slug)
    try:
        data, pending = (data, False) if data is not None else current(db.read_session(), slug, provinces)
    except weighting.BeingPrepared:  # what this page shows is computed before the weights being made are served
        _asked(slug, provinces, args, api)
        raise
    lang = language()  # the menu of indicators, once per design, instrument version and language:
    offered = list(data.derived(("indicators", instrument.slug, instrument.version, lang),  # 30 ms a request
                                lambda: variables.indicators(instrument, data, lang)))
    groups = variables.groups(data.frame, data.facts) if not data.frame.empty else []
    return asked(slug, instrument, data, args, offered, groups, offered_levels(provinces), provinces, api=api,
                 pending=pending)


def asked(slug: str, instrument: surveys.Instrument, data: Weighted | None, args, offered: list[variables.Indicator],
          groups: list[str], levels: tuple[str, ...], provinces: areas.Provinces, *, api: bool = False,
          pending: bool = False, figures: in_database.Served | None = None) -> Query:
    """The query in ``args`` among what is ``offered`` (indicators, groups, levels); raises :class:`BadQuery` for
    anything else. Shared by the pages of a design in memory and those the database serves
    (:mod:`web.research.database_results`)."""
    wanted = args.get("find", "").strip()[:100]
    searched = variables.find(offered, wanted) if wanted else None
    name = searched.name if searched else args.get("indicator") or (offered[0].name if offered else "")
    indicator = next((i for i in offered if i.name == name), None)
    if name and indicator is None:
        raise BadQuery("indicator")
    level, by, by2 = args.get("level", levels[0]), args.get("by", ""), args.get("by2", "")
    if api and by == "ward":
        level, by = "ward", ""
    if level not in levels:
        raise BadQuery("level")
    for group in (by, by2):
        if group and group not in groups:
            raise BadQuery("by")
    if indicator is not None:  # a variable is not grouped by itself (sex by sex is the distribution of sex)
        by, by2 = ("" if by == indicator.name else by), ("" if by2 == indicator.name else by2)
    if by2 == by:
        by2 = ""
    return Query(slug, instrument, data, indicator, level, by, by2, offered, groups, levels, provinces,
                 wanted if wanted and searched is None else "", pending, figures)


def offered_levels(provinces: areas.Provinces) -> tuple[str, ...]:
    """Every level, less the nation where the survey covers one province (its whole is the province) and
    the former district where no province has a conversion table."""
    several = len(areas.province_codes(provinces)) > 1
    return tuple(lv for lv in LEVELS if (lv != "national" or several)
                 and (lv != "former_district" or areas.former_districts_in(provinces)))


def former_district_note(province: areas.Provinces) -> dict:
    """How the province's wards map to former districts, for the note under a table by former district:
    counts, the source, and each ward formed from parts of several former districts (name order)."""
    districts = areas.former_districts_in(province)
    names = {w.code: w.name for code in areas.province_codes(province) for w in areas.wards(code)}
    labels = former_district_labels(province)
    mixed = sorted(((names[code], labels[d.code], d.sources) for code, d in districts.items() if not d.is_whole),
                   key=lambda row: areas.sort_key(row[0]))
    return {"wards": len(names), "districts": len(former_names(province)), "mixed": len(mixed),
            "several": sum(d.code == areas.SEVERAL for d in districts.values()),
            "unknown": len(set(names) - set(districts)), "mixed_wards": mixed,
            "source": areas.former_districts_source()}


def read_or_404(slug: str, args) -> Query:
    try:
        return read(slug, args)
    except BadQuery:
        abort(404)


RECENT_VIEWS = 8  #: per survey, the views whose aggregates are computed before a new design is served
_views_lock = threading.Lock()


def viewed(query: Query, derive: Callable[[Query], object]) -> None:
    """Remember that a page computed ``derive(query)`` (a table, a ranking) from the served design, in the
    request's language: :func:`warm` computes it again from the next design before that one is served. A query of a
    roll-up in the database (``figures``) is not remembered: its next roll-up is not warmed."""
    if query.figures is not None:
        return
    _remember(query.slug, query.provinces, (derive, tuple(sorted(query.args.items())), language()))


def _remember(slug: str, provinces: areas.Provinces, view: tuple) -> None:
    views = current_app.extensions.setdefault("khaosat_viewed", {})
    with _views_lock:
        recent = views.setdefault((slug, areas.province_codes(provinces)), {})
        recent.pop(view, None)
        recent[view] = True
        while len(recent) > RECENT_VIEWS:
            recent.pop(next(iter(recent)))


#: the endpoint of a page -> what it derives from the design (the results table unless listed: the ranking's page)
DERIVED_BY: dict[str, Callable[[Query], object]] = {}


def _asked(slug: str, provinces: areas.Provinces, args, api: bool) -> None:
    """Remember the view a request asked for while the weights are being prepared (made by a run, or loaded):
    computed before they are served, as the views seen lately are (:func:`warm`)."""
    derive = DERIVED_BY.get(request.endpoint or "", table)
    asked = {k: v for k, v in args.items() if k in ("indicator", "level", "by", "by2")}
    if api and asked.get("by") == "ward":
        asked.update(level="ward", by="")
    _remember(slug, provinces, (derive, tuple(sorted(asked.items())), language()))


def warm(data: Weighted, slug: str, provinces: areas.Provinces) -> None:
    """Compute what the views of the survey seen lately derive from ``data`` (kept in the app's cache under
    its token), so that their first request after ``data`` is served finds it made."""
    with _views_lock:
        recent = list(current_app.extensions.get("khaosat_viewed", {}).get((slug, areas.province_codes(provinces)), ()))
    for derive, args, lang in recent:
        try:
            with current_app.test_request_context(query_string={"lang": lang}):
                derive(read(slug, dict(args), data=data))
        except Exception:  # noqa: BLE001 - that view computes in its own request, as before
            current_app.logger.exception("preparing a view of %s failed", slug)


weighting.BEFORE_SERVED.append(warm)


def table(query: Query) -> pd.DataFrame:
    """The estimates, with a ``label`` column per key column and a ``cell`` label, in the user's language: from the
    design in memory, or from the roll-up of a survey over the in-memory limit."""
    viewed(query, table)
    if query.indicator is None or (query.figures is None and query.data.design is None):  # nothing to estimate yet
        return label(query, pd.DataFrame(columns=[*query.columns, *results.COLUMNS]))
    if query.figures is not None:
        out = in_database.estimate(query.figures, query.indicator, query.columns, family_groups=query.groups)
    else:
        key = ("estimate", query.indicator, tuple(query.columns), current_app.config["MIN_CELL_COUNT"])
        out = derived(query, key, lambda: results.estimate(query.data.design, query.indicator, query.columns,
                                                          family=cell_family(query))).copy()
    if query.indicator.categorical:
        order = {code: i for i, (code, _label) in enumerate(query.indicator.levels)}
        out["category_label"] = out["category"].map(query.indicator.level_label)
        out = out.assign(_order=out["category"].map(order).fillna(len(order))).sort_values(
            [*query.columns, "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    return label(query, in_province_order(out))


def estimate(query: Query, by: list[str], min_cell: int | None = None) -> pd.DataFrame:
    """The query's indicator by ``by`` with the small-cell rule of ``min_cell`` only (not the protected tables: a
    model's inputs, which its page shows by its own rules), from the design in memory or from the roll-up."""
    if query.figures is not None:
        return in_database.estimate(query.figures, query.indicator, by, min_cell)
    return results.estimate(query.data.design, query.indicator, by, min_cell)


def design(query: Query):
    """The design the query's estimates come from: in memory, or the database's (:class:`analysis.sql.SqlDesign`)
    over the roll-up of a survey over the in-memory limit; None before there is one."""
    return query.figures.design if query.figures is not None else query.data.design


def derived(query: Query, key: tuple, build: Callable[[], T], aside: bool = True) -> T:
    """``build()``, made once for the figures the query reads: its design in memory (``aside``: in a thread on a
    large one, :meth:`web.research.weighting.Weighted.derived`), or its roll-up in the database."""
    if query.figures is not None:
        return cached("derived", (*query.figures.token, *key), build)
    return query.data.derived(key, build, aside=aside)


def in_province_order(out: pd.DataFrame) -> pd.DataFrame:
    """Rows by province in Vietnamese alphabetical order, the whole first (stable within a province)."""
    if "province_code" not in out.columns:
        return out
    order = out["province_code"].map(lambda c: (0, b"") if pd.isna(c) else (1, *collation.province_key(
        province_label(c))))
    return out.iloc[sorted(range(len(out)), key=lambda i: order.iloc[i])].reset_index(drop=True)


def cell_family(query: Query):
    """The protected tables of the query's indicator (built once per weighted design). Indicators that
    count the same respondents share one family, so their tables hide the same cells: otherwise a cell
    hidden in one indicator's table could be read off another's. Over the in-memory limit, the family over the
    roll-up's counts (:func:`web.research.in_database.family`)."""
    if query.figures is not None:
        return in_database.family(query.figures, query.indicator.name, query.groups)
    records = results.counted(query.data.design, query.indicator.name)
    key = ("cells", hashlib.sha256(np.sort(records.index.to_numpy()).tobytes()).hexdigest(), tuple(query.groups))
    return query.data.derived(key, lambda: table_family(records, query.groups))


def former_names(province: areas.Provinces) -> dict[str, str]:
    return {k: v for code in areas.province_codes(province) for k, v in areas.former_district_names(code).items()}


def former_district_labels(province: areas.Provinces) -> dict[str, str]:
    """Former district code -> its name, with "several" and "not known" in the user's language (per province,
    ``several:79``, when the survey covers several: see :func:`web.research.weighting.with_former_district`)."""
    codes = areas.province_codes(province)
    labels = {**former_names(province), areas.SEVERAL: _("Several former districts"),
              areas.UNKNOWN: _("Former district not known")}
    if len(codes) > 1:
        for code in codes:
            name = province_label(code)
            labels[f"{areas.SEVERAL}:{code}"] = _("Several former districts (%(province)s)", province=name)
            labels[f"{areas.UNKNOWN}:{code}"] = _("Former district not known (%(province)s)", province=name)
    return labels


def label(query: Query, out: pd.DataFrame) -> pd.DataFrame:
    lang = language()
    province = query.provinces
    names = ward_names(db.read_session(), province)
    parts = []
    for column in query.columns:
        if column == "province_code":
            out["province"] = _named(out["province_code"], province_label)
            parts.append(out["province"])
        elif column == "ward_code":
            out["ward"] = _named(out["ward_code"], lambda c: names.get(int(c), str(c)))
            parts.append(out["ward"])
        elif column == "former_district":
            districts = former_district_labels(province)
            out["former_district_label"] = _named(out[column], lambda c, d=districts: d.get(c, c))
            parts.append(out["former_district_label"])
        else:
            out[f"{column}_label"] = _named(out[column], lambda v, c=column: variables.value_label(
                query.instrument, c, v, lang))
            parts.append(out[f"{column}_label"])
    whole = whole_label(query.provinces)
    out["cell"] = [" · ".join(p for p in row if p) or whole for row in zip(*parts, strict=True)] if parts \
        else whole
    return out


def province_label(code) -> str:
    return areas.province_names().get(int(code), str(code))


def whole_label(provinces: tuple[int, ...]) -> str:
    """The name of the whole area a survey covers: the country, its provinces, or the one province's name."""
    provinces = areas.province_codes(provinces)
    if len(provinces) == len(areas.provinces()):
        return _("Whole country")
    return _("All %(n)d provinces surveyed", n=len(provinces)) if len(provinces) > 1 else province_label(provinces[0])


def level_names(query: Query) -> dict[str, str]:
    """Each offered level's name in the user's language, for the geography menu."""
    several = "national" in query.levels
    return {"national": whole_label(query.provinces),
            "province": _("Province or centrally-run city") if several else whole_label(query.provinces),
            "ward": _("Ward or commune"), "former_district": _("Former district (before July 2025)")}


def _named(values: pd.Series, name) -> pd.Series:
    """``name`` of each value, worked out once per distinct value (a ranking has ~20,000 rows and a few
    hundred values); "" where the value is missing."""
    table = {v: name(v) for v in values.dropna().unique()}
    return values.map(table).astype(object).where(values.notna(), "")


def benchmark(query: Query) -> float | None:
    """The whole area's estimate of the query's indicator (None before there is one, and for a categorical
    indicator, which has one share per category: :func:`web.research.results.overall`)."""
    if query.figures is not None and query.indicator is not None and not query.indicator.categorical:
        whole = in_database.estimate(query.figures, query.indicator, [], family_groups=query.groups)
        return None if whole.empty else float(whole["estimate"].iloc[0])
    if query.figures is not None or query.indicator is None or query.data.design is None:
        return None
    return query.data.derived(("overall", query.indicator),
                              lambda: results.overall(query.data.design, query.indicator), aside=True)

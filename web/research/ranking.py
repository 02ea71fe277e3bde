"""The left-behind ranking (from :func:`analysis.left_behind`) and the weighting page."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

from flask import abort, current_app, redirect, render_template, request, url_for
from sqlmodel import select

from analysis import left_behind
from analysis.lazy import pandas as pd
from analysis.rollup import RESPONDENTS
from surveys import areas, collation
from surveys.messages import Message
from web import db, synthetic
from web.auth import role_required
from web.catalog import ward_names
from web.i18n import language
from web.messages import render
from web.models import Role, Survey
from web.privacy import suppress
from web.privacy.suppression import hidden_cells
from web.research import (
    bp,
    database_results,
    exports,
    in_database,
    query,
    results,
    sentences,
    streams,
    variables,
    weighting,
    weighting_jobs,
)
from web.research.raking import TOO_FEW_UNITS, TRIM_RATIO
from web.research.views import XLSX, export_attachment
from web.research.weighting import chosen_margins, weight_warnings
from web.sampling import nonresponse_report

PER_PAGE = 20  #: cells on one page of the left-behind ranking
#: what a row of the ranking's page shows (research/left_behind.html), and the area it is under
ROW_FIELDS = ("area_key", "left_behind", "reliability", "cell", "sentence", "population", "gap", "gap_ci_low",
              "gap_ci_high", "q_value", "n")


def area_column(q: query.Query) -> str:
    """The areas the ranking compares: former districts or provinces when asked for, else wards and communes."""
    if q.level == "province" and "national" in q.levels:
        return "province_code"
    return "former_district" if q.level == "former_district" else "ward_code"


def area_names(column: str, province: tuple[int, ...]) -> dict:
    """Area code -> its name in the request's language, for the ranking's sentences."""
    if column == "ward_code":
        return ward_names(db.session(), province)
    if column == "province_code":
        return areas.province_names()
    return {code: str(name) for code, name in query.former_district_labels(province).items()}


def ranking(q: query.Query) -> pd.DataFrame:
    """Every cell (area, group, area x group, two groups crossed), furthest behind first, labelled; each
    cell once (a ward's group that is the whole ward is the ward)."""
    labelled = _cached_ranking(q)
    return pd.DataFrame() if labelled is None else labelled.copy()


def _key(q: query.Query) -> tuple:
    return ("ranking", q.indicator.name, area_column(q), tuple(_groups(q)))


def _cached_ranking(q: query.Query) -> pd.DataFrame | None:
    """The labelled ranking as cached for this design (not to be changed), None where there is none."""
    if q.indicator is None or q.indicator.categorical:  # a distribution has no ranking
        return None
    if q.figures is None and q.data.design is None:
        return None
    key = _key(q)
    query.viewed(q, _prepared)
    report = query.derived(q, key, lambda: _ranked(q, key[2]))  # aside: 3 s at 100,000 responses
    return query.derived(q, (*key, language()), lambda: _labelled(q, report))  # paging reads it again


def _labelled(q: query.Query, report: pd.DataFrame) -> pd.DataFrame:
    out = query.label(_ranking_query(q), report.copy())
    out.attrs.update(report.attrs)
    return out


def _ranked(q: query.Query, column: str) -> pd.DataFrame:
    """The ranking of the design in memory or, over the in-memory limit, of the roll-up's groups standing for their
    respondents (the same figures: :func:`web.research.in_database.groups_design`)."""
    if q.figures is None:
        design, counted = results.prepared(q.data.design, q.indicator), {}
    else:
        design = in_database.groups_design(q.figures, q.indicator.name)
        counted = {"respondents": RESPONDENTS, "share": q.indicator.share}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        report = left_behind(design, q.indicator.name, areas=column, groups=_groups(q), max_way=2,
                             scale=q.scale if q.indicator.share else 1.0,
                             material_points=10.0 if q.indicator.share else 5.0, **counted)
    return suppress(report, hidden=hidden_cells(query.cell_family(q), report, [column, *_groups(q)]))


def _groups(q: query.Query) -> list[str]:
    """The groups the ranking crosses (urban/rural as answered is left out where the ward type is known); over the
    in-memory limit, those its roll-up crosses (sex and age band)."""
    if q.figures is not None:
        return [g for g in q.groups if g in q.figures.rollup.keys]
    return [g for g in q.groups if g != "urban_rural" or "area_type" not in q.groups]


def _ranking_query(q: query.Query):
    """A query whose columns are every key column a ranking row can have (for labelling)."""
    return type("RankingQuery", (), {"columns": [area_column(q), *_groups(q)], "instrument": q.instrument,
                                    "provinces": q.provinces})()


def with_sentences(q: query.Query, report: pd.DataFrame, names: dict | None = None) -> pd.DataFrame:
    """``report`` (rows of :func:`ranking`) with a ``sentence`` column in the request's language (empty for a
    cell whose estimate is withheld for privacy); the sentences of the whole ranking are made once per design
    and language, so a page of it only looks its rows up. ``names``: :func:`area_names`, when read already."""
    if report.empty:
        return report.assign(sentence=pd.Series(dtype=object))
    whole = _cached_ranking(q)
    if whole is not None and whole.index.is_unique and report.index.isin(whole.index).all():
        words = _sentences(q, whole, names)
    else:
        words = _worded(q, report, names)
    return report.assign(sentence=words.reindex(report.index).to_numpy(dtype=object))


def _sentences(q: query.Query, whole: pd.DataFrame, names: dict | None = None) -> pd.Series:
    """The sentence of every row of the ranking ``whole``, in the request's language, made once per design."""
    return query.derived(q, ("sentences", *_key(q)[1:], language()), lambda: _worded(q, whole, names), aside=False)


def _prepared(q: query.Query) -> None:
    """What the ranking's pages derive from the design (the ranking, its sentences): made again from new weights
    before they are served (:func:`web.research.query.warm`)."""
    whole = _cached_ranking(q)
    if whole is not None and not whole.empty:
        _sentences(q, whole)


def _worded(q: query.Query, report: pd.DataFrame, names: dict | None) -> pd.Series:
    """The sentence of each row of ``report``, by its index."""
    column, groups, lang = area_column(q), _groups(q), language()
    names = area_names(column, q.provinces) if names is None else names
    group_labels = variables.labels_for(q.instrument, report, groups, lang)
    indicator = sentences.indicator_phrase(str(q.indicator.label))
    share = bool(report.attrs.get("share", q.indicator.share))
    whole = sentences.comparison(q.provinces)
    return pd.Series([
        "" if pd.isna(row["estimate"]) else sentences.sentence(row, column, groups, names, group_labels, indicator,
                                                               share, whole)
        for row in report.to_dict("records")], index=report.index, dtype=object)  # dicts: iterrows makes a Series a row


def _filtered(report: pd.DataFrame, column: str, area: str, group: str, only_behind: bool) -> pd.DataFrame:
    if report.empty:
        return report
    if area:
        report = report[report[column].astype("string") == area]
    if group:
        report = report[report[group].notna()] if group in report else report.iloc[0:0]
    if only_behind:
        report = report[report["left_behind"]]
    return report


def by_area(report: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows grouped by area (the city-wide groups as one more "area"), the area with the worst cell
    first, and within an area the worst first; ``area_key`` names each row's group."""
    if report.empty:
        return report.assign(area_key=pd.Series(dtype=object))
    keys = report[column].astype(object).where(report[column].notna(), "")
    worst = report["gap"].where(report["reliability"] != "suppressed").groupby(keys).transform("min")
    ordered = report.assign(area_key=keys, _worst=worst.fillna(float("inf")), _gap=report["gap"].fillna(float("inf")))
    return ordered.sort_values(["_worst", "area_key", "_gap"], kind="stable").drop(columns=["_worst", "_gap"])


def _shown(q: query.Query, report: pd.DataFrame, column: str, asked: tuple[str, str, bool], names: dict) -> pd.DataFrame:
    """The rows the ranking's pages go through (:func:`by_area` of the ranking filtered by ``asked``: area, group,
    only those left behind), with their sentences: made once per design, language and filter, not on every page
    (40 ms a request); an area's few rows are sorted each time."""
    def build() -> pd.DataFrame:
        return with_sentences(q, by_area(_filtered(report, column, *asked), column), names)

    area, group, only_behind = asked
    if area or report.empty:
        return build()
    return query.derived(q, ("left-behind rows", *_key(q)[1:], language(), group, only_behind), build, aside=False)


def _sections(rows: pd.DataFrame, column: str, names: dict) -> list[tuple]:
    """A page's rows by area, in order: (area key, its name or None for the whole, its rows as tuples)."""
    parts: dict = {}
    for row in rows[[c for c in ROW_FIELDS if c in rows]].itertuples():  # once a page, the columns shown only
        parts.setdefault(row.area_key, []).append(row)
    return [(key, names.get(int(key) if column in ("ward_code", "province_code") else key, str(key)) if key != "" else None,
             part) for key, part in parts.items()]


def _ranking_args() -> dict:
    """The indicator, and the level when it is former districts or provinces (wards otherwise)."""
    args = {k: v for k, v in request.args.items() if k == "indicator"}
    if request.args.get("level") in ("former_district", "province"):
        args["level"] = request.args["level"]
    return args


def _page_number(pages: int) -> int:
    try:
        asked = int(request.args.get("page", "1"))
    except ValueError:
        abort(404)
    if asked < 1 or (asked > pages and pages):
        abort(404)
    return asked


query.DERIVED_BY["research.left_behind_page"] = _prepared


@bp.route("/<slug>/left-behind")
@role_required(Role.researcher)
def left_behind_page(slug: str):
    q = database_results.read_or_404(slug, _ranking_args())
    if request.args.get("estimator") == "fh" and q.level != "former_district":  # wards ranked by the model
        return redirect(url_for("research.small_area_page", slug=slug, indicator=q.indicator.name if q.indicator else None))
    q.offered = [i for i in q.offered if not i.categorical]  # a distribution has no ranking
    area, group = request.args.get("area", ""), request.args.get("group", "")
    if group and group not in _groups(q):
        abort(404)
    report = _cached_ranking(q)
    report = pd.DataFrame() if report is None else report  # read, not changed: no copy
    column = area_column(q)
    names = area_names(column, q.provinces)
    shown = _shown(q, report, column, (area, group, request.args.get("all") != "1"), names)
    pages = max(1, -(-len(shown) // PER_PAGE))
    page = _page_number(pages)
    sections = _sections(shown.iloc[(page - 1) * PER_PAGE: page * PER_PAGE], column, names)
    codes = query.derived(q, ("present", column), lambda: tuple(
        q.data.frame[column].dropna().unique().tolist() if q.figures is None else in_database.present(q.figures, column)),
        aside=False)
    present = sorted({int(c) if column in ("ward_code", "province_code") else c for c in codes},  # not every row:
                     key=lambda c: collation.sort_key(names.get(c, str(c))))  # 0.76 s at 1,000,000 responses
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("research/left_behind.html", q=q, instrument=q.instrument, sections=sections,
                           whole=query.whole_label(q.provinces),
                           compared=sentences.comparison(q.provinces)["whole"],
                           total=len(shown), flagged=int(report["left_behind"].sum()) if len(report) else 0,
                           area=area, group=group, groups=_groups(q), wards=[(c, names.get(c, str(c))) for c in present],
                           group_names=variables.GROUP_NAMES, page=page, pages=pages, page_args=args,
                           show_all=request.args.get("all") == "1", overall=report.attrs.get("overall"),
                           dropped=report.attrs.get("duplicates_dropped", 0),
                           districts=query.former_district_note(q.provinces)
                           if q.level == "former_district" else None)


@bp.route("/<slug>/left-behind.<any(csv, xlsx):fmt>")
@role_required(Role.researcher)
def left_behind_download(slug: str, fmt: str):
    """The whole ranking (every cell, labelled, with its sentence in the request's language)."""
    q = database_results.read_or_404(slug, _ranking_args())
    report = with_sentences(q, ranking(q)).drop(columns=["cell"], errors="ignore") if q.indicator else pd.DataFrame()
    report = streams.labelled(report, streams.official_label(q))
    by_district = "-former-district" if q.level == "former_district" else ""
    name = f"{slug}-{q.indicator.name if q.indicator else 'none'}-left-behind{by_district}.{fmt}"
    asked = {**({"indicator": q.indicator.name} if q.indicator else {}), **_ranking_args()}
    if fmt == "csv":
        return export_attachment(exports.table_csv(report), "text/csv; charset=utf-8", name, **asked)
    return export_attachment(exports.file_stream(exports.table_xlsx(report, "left-behind", synthetic.export_meta(name))), XLSX, name, **asked)


def compared(q: query.Query) -> pd.DataFrame | None:
    """The weighted estimate next to the unweighted one, by the query's group (the weighting page's table): computed
    once per design (aside on a large one: 1 s at 1,000,000 responses) and again before new weights are served; over
    the in-memory limit, from the roll-up."""
    if q.indicator is None or q.indicator.categorical or query.design(q) is None:
        return None
    if q.figures is not None:
        return in_database.unweighted_vs_weighted(q.figures, q.indicator, q.by or None, q.groups)
    query.viewed(q, compared)
    key = ("weighting", q.indicator, q.by, current_app.config["MIN_CELL_COUNT"])
    return q.data.derived(key, lambda: results.unweighted_vs_weighted(
        q.data.frame, q.data.design, q.indicator, q.by or None, family=query.cell_family(q)), aside=True).copy()


query.DERIVED_BY["research.weighting_page"] = compared


@dataclass(frozen=True)
class Made:
    """How the served weights were made, as the weighting page shows it: from the design in memory, or from the
    report its weighting run kept with the roll-up of a survey over the in-memory limit."""

    as_of: dt.datetime | None  #: when the data they were made from were read (UTC)
    responses: int  #: how many responses they weigh
    diagnostics: pd.DataFrame  #: one row per step (:attr:`web.research.weighting.Weighted.diagnostics`)
    problem: Message | None  #: why they are not calibrated
    unrepresented: tuple[int, ...]  #: wards with margins but no respondents
    design: bool  #: whether there is a design (none with one sampling unit: no standard errors)


def made(q: query.Query) -> Made:
    """How the weights the query reads were made."""
    if q.figures is None:
        data = q.data
        return Made(data.as_of, len(data.frame), data.diagnostics, data.problem, tuple(data.unrepresented_wards),
                    data.design is not None)
    report = q.figures.weights
    found = report.get("problem")
    problem = Message(found["code"], found["params"]) if found else None
    return Made(q.figures.as_of, q.figures.responses, pd.DataFrame(report.get("diagnostics", [])), problem,
                tuple(report.get("unrepresented", ())), problem != TOO_FEW_UNITS)


@bp.route("/<slug>/weighting")
@role_required(Role.researcher)
def weighting_page(slug: str):
    q = database_results.read_or_404(slug, {k: v for k, v in request.args.items() if k in ("indicator", "by")})
    weights = made(q)
    wards, by_province = chosen_margins(db.session(), q.provinces)
    margins = by_province if not by_province.empty else wards
    comparison = compared(q)
    if comparison is not None:
        if q.by:
            comparison["cell"] = comparison[q.by].map(
                lambda v: variables.value_label(q.instrument, q.by, v, language()))
        else:
            comparison["cell"] = query.whole_label(q.provinces)
    summary = None
    if not margins.empty:
        summary = {"cells": len(margins), "wards": margins.get("ward_code", pd.Series(dtype=int)).nunique(),
                   "provinces": margins.get("province_code", pd.Series(dtype=int)).nunique(),
                   "people": int(margins["count"].sum()),
                   "by_sex_age": margins.groupby(["sex", "age_band"])["count"].sum().reset_index()}
    names = ward_names(db.session(), q.provinces)
    return render_template("research/weighting.html", q=q, instrument=q.instrument, comparison=comparison,
                           nonresponse=_nonresponse(slug), ward_names=names, made=weights,
                           summary=summary, unrepresented=[names.get(c, str(c)) for c in weights.unrepresented],
                           problem=render(weights.problem) if summary or not weights.design else "",
                           group_names=variables.GROUP_NAMES, warnings=weight_warnings(weights.diagnostics),
                           trim_ratio=TRIM_RATIO, warn_ratio=weighting.WARN_RATIO,
                           warn_deff=weighting.WARN_DEFF, run=weighting_jobs.running(slug, q.provinces))


LEVEL_PARTS = {0: ("draw", "ward", "size"), 1: ("draw", "ward"), 2: ("draw", "kind", "size"), 3: ("draw", "kind"),
               4: ("draw",)}  #: what each level's class key holds (:func:`web.sampling.adjust_for_nonresponse`)


def _nonresponse(slug: str) -> dict | None:
    """The non-response adjustment of the survey's draws, for the weighting page: e, the rule, each class
    (its parts, counts and factor) and the check that the adjusted weights add up to the eligible weight."""
    session = db.session()
    survey_id = session.exec(select(Survey.id).where(Survey.slug == slug)).first()
    report = nonresponse_report(session, survey_id) if survey_id is not None else None
    if report is None:
        return None
    units, made = report
    classes = made.classes.copy()
    parts = [dict(zip(LEVEL_PARTS[int(level)], key.split(":"), strict=True))
             for level, key in zip(classes["level"], classes["key"], strict=True)]
    classes["ward"] = pd.Series([int(p["ward"]) if "ward" in p else None for p in parts], dtype=object,
                                index=classes.index)
    classes["kind"] = [p.get("kind") for p in parts]
    classes["size"] = [p.get("size") for p in parts]
    classes["draw"] = [int(p["draw"]) for p in parts]
    eligible = units["w"].where(units["status"].isin(["respondent", "nonrespondent"]), 0.0).sum() \
        + made.e * units["w"].where(units["status"] == "unknown", 0.0).sum()
    return {"e": made.e, "min_respondents": made.min_respondents, "max_factor": made.max_factor,
            "classes": classes, "households": len(units), "base_total": float(units["w"].sum()),
            "eligible_total": float(eligible), "adjusted_total": float(made.weights.sum()),
            "counts": units["status"].value_counts().to_dict()}

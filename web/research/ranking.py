"""The left-behind ranking (from :func:`analysis.left_behind`) and the weighting page."""

from __future__ import annotations

import warnings

import pandas as pd
from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale

from analysis import left_behind
from surveys import collation
from web import db, synthetic
from web.auth import role_required
from web.catalog import ward_names
from web.i18n import _, language
from web.models import Role
from web.privacy import suppress
from web.privacy.suppression import hidden_cells
from web.research import bp, exports, query, results, sentences, variables, weighting
from web.research.views import XLSX, export_attachment
from web.research.weighting import margins_frame, problem_message, weight_warnings

PER_PAGE = 20  #: cells on one page of the left-behind ranking


def area_column(q: query.Query) -> str:
    """The areas the ranking compares: former districts when asked for, else wards and communes."""
    return "former_district" if q.level == "former_district" else "ward_code"


def _area_labels(column: str) -> dict:
    """Area code -> {"vi": name, "en": name}, for the ranking's sentences in both languages."""
    province = current_app.config["KHAOSAT_PROVINCE"]
    if column == "ward_code":
        return {code: {"vi": name, "en": name} for code, name in ward_names(db.session(), province).items()}
    out: dict = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            for code, name in query.former_district_labels(province).items():
                out.setdefault(code, {})[lang] = str(name)
    return out


def ranking(q: query.Query) -> pd.DataFrame:
    """Every cell (area, group, area x group, two groups crossed), furthest behind first, labelled; each
    cell once (a ward's group that is the whole ward is the ward)."""
    if q.indicator is None or q.data.design is None or q.indicator.categorical:  # a distribution has no ranking
        return pd.DataFrame()
    key = (q.indicator.name, area_column(q))
    if key not in q.data.rankings:
        design = q.data.design
        design.data[q.indicator.name] = pd.to_numeric(design.data[q.indicator.name], errors="coerce")
        for g in _groups(q):
            design.data[g] = design.data[g].map(results._code)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            report = left_behind(design, q.indicator.name, areas=key[1], groups=_groups(q), max_way=2,
                                 scale=q.scale if q.indicator.share else 1.0,
                                 material_points=10.0 if q.indicator.share else 5.0)
        q.data.rankings[key] = suppress(report, hidden=hidden_cells(query.cell_family(q), report, [key[1], *_groups(q)]))
    report = q.data.rankings[key]
    out = query.label(_ranking_query(q), report.copy())
    out.attrs.update(report.attrs)
    return out


def _groups(q: query.Query) -> list[str]:
    """The groups the ranking crosses (urban/rural as answered is left out where the ward type is known)."""
    return [g for g in q.groups if g != "urban_rural" or "area_type" not in q.groups]


def _ranking_query(q: query.Query):
    """A query whose columns are every key column a ranking row can have (for labelling)."""
    return type("RankingQuery", (), {"columns": [area_column(q), *_groups(q)], "instrument": q.instrument})()


def with_sentences(q: query.Query, report: pd.DataFrame) -> pd.DataFrame:
    """``report`` with a ``sentence`` column in the request's language (empty for a cell whose estimate is
    withheld for privacy)."""
    if report.empty:
        return report.assign(sentence=pd.Series(dtype=object))
    column, groups, lang = area_column(q), _groups(q), language()
    names = {code: text[lang] for code, text in _area_labels(column).items()}
    group_labels = variables.labels_for(q.instrument, report, groups, {})
    group_labels = {g: {v: text[lang] for v, text in values.items()} for g, values in group_labels.items()}
    indicator = sentences.indicator_phrase(str(q.indicator.label))
    share = bool(report.attrs.get("share", q.indicator.share))
    report = report.copy()
    report["sentence"] = [
        "" if pd.isna(row["estimate"]) else sentences.sentence(row, column, groups, names, group_labels, indicator,
                                                               share)
        for _, row in report.iterrows()]
    return report


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


def _ranking_args() -> dict:
    """The indicator, and the level when it is former districts (wards otherwise)."""
    args = {k: v for k, v in request.args.items() if k == "indicator"}
    if request.args.get("level") == "former_district":
        args["level"] = "former_district"
    return args


def _page_number(pages: int) -> int:
    try:
        asked = int(request.args.get("page", "1"))
    except ValueError:
        abort(404)
    if asked < 1 or (asked > pages and pages):
        abort(404)
    return asked


@bp.route("/<slug>/left-behind")
@role_required(Role.researcher)
def left_behind_page(slug: str):
    q = query.read_or_404(slug, _ranking_args())
    if request.args.get("estimator") == "fh" and q.level != "former_district":  # wards ranked by the model
        return redirect(url_for("research.small_area_page", slug=slug, indicator=q.indicator.name if q.indicator else None))
    q.offered = [i for i in q.offered if not i.categorical]  # a distribution has no ranking
    area, group = request.args.get("area", ""), request.args.get("group", "")
    if group and group not in q.groups:
        abort(404)
    report = ranking(q)
    column = area_column(q)
    shown = by_area(_filtered(report, column, area, group, request.args.get("all") != "1"), column)
    pages = max(1, -(-len(shown) // PER_PAGE))
    page = _page_number(pages)
    rows = with_sentences(q, shown.iloc[(page - 1) * PER_PAGE: page * PER_PAGE])
    names = {code: text[language()] for code, text in _area_labels(column).items()}
    sections = [(key, names.get(int(key) if column == "ward_code" else key, str(key)) if key != "" else None, part)
                for key, part in rows.groupby("area_key", sort=False)] if len(rows) else []
    present = sorted({int(c) if column == "ward_code" else c for c in q.data.frame[column].dropna()},
                     key=lambda c: collation.sort_key(names.get(c, str(c))))
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("research/left_behind.html", q=q, instrument=q.instrument, sections=sections,
                           total=len(shown), flagged=int(report["left_behind"].sum()) if len(report) else 0,
                           area=area, group=group, wards=[(c, names.get(c, str(c))) for c in present],
                           group_names=variables.GROUP_NAMES, page=page, pages=pages, page_args=args,
                           show_all=request.args.get("all") == "1", overall=report.attrs.get("overall"),
                           dropped=report.attrs.get("duplicates_dropped", 0),
                           districts=query.former_district_note(current_app.config["KHAOSAT_PROVINCE"])
                           if q.level == "former_district" else None)


@bp.route("/<slug>/left-behind.<any(csv, xlsx):fmt>")
@role_required(Role.researcher)
def left_behind_download(slug: str, fmt: str):
    """The whole ranking (every cell, labelled, with its sentence in the request's language)."""
    q = query.read_or_404(slug, _ranking_args())
    report = with_sentences(q, ranking(q)).drop(columns=["cell"], errors="ignore") if q.indicator else pd.DataFrame()
    by_district = "-former-district" if q.level == "former_district" else ""
    name = f"{slug}-{q.indicator.name if q.indicator else 'none'}-left-behind{by_district}.{fmt}"
    asked = {**({"indicator": q.indicator.name} if q.indicator else {}), **_ranking_args()}
    if fmt == "csv":
        return export_attachment(exports.table_csv(report), "text/csv; charset=utf-8", name, **asked)
    return export_attachment(exports.file_stream(exports.table_xlsx(report, "left-behind", synthetic.export_meta(name))), XLSX, name, **asked)


@bp.route("/<slug>/weighting")
@role_required(Role.researcher)
def weighting_page(slug: str):
    q = query.read_or_404(slug, {k: v for k, v in request.args.items() if k in ("indicator", "by")})
    margins = margins_frame(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    comparison = None
    if q.indicator is not None and q.data.design is not None and not q.indicator.categorical:
        comparison = results.unweighted_vs_weighted(q.data.frame, q.data.design, q.indicator, q.by or None,
                                                     family=query.cell_family(q))
        if q.by:
            comparison["cell"] = comparison[q.by].map(
                lambda v: variables.value_label(q.instrument, q.by, v, language()))
        else:
            comparison["cell"] = _("Whole city")
    summary = None
    if not margins.empty:
        summary = {"cells": len(margins), "wards": margins["ward_code"].nunique(), "people": int(margins["count"].sum()),
                   "by_sex_age": margins.groupby(["sex", "age_band"])["count"].sum().reset_index()}
    names = ward_names(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    return render_template("research/weighting.html", q=q, instrument=q.instrument, comparison=comparison,
                           summary=summary, unrepresented=[names.get(c, str(c)) for c in q.data.unrepresented_wards],
                           problem=problem_message(q.data.problem) if summary or q.data.design is None else "",
                           group_names=variables.GROUP_NAMES, warnings=weight_warnings(q.data.diagnostics),
                           trim_ratio=weighting.TRIM_RATIO, warn_ratio=weighting.WARN_RATIO,
                           warn_deff=weighting.WARN_DEFF)

"""The left-behind ranking (from :func:`analysis.left_behind`) and the weighting page."""

from __future__ import annotations

import warnings

import pandas as pd
from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale

from analysis import left_behind
from surveys import collation
from web import db
from web.auth import role_required
from web.catalog import ward_names
from web.i18n import _, language
from web.models import Role
from web.privacy import suppress
from web.privacy.suppression import hidden_cells
from web.research import bp, exports, query, results, variables
from web.research.views import XLSX, export_attachment
from web.research.weighting import margins_frame, problem_message

MAX_ROWS = 200


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
    """Every cell (area, group, area x group, two groups crossed), furthest behind first."""
    if q.indicator is None or q.data.design is None or q.indicator.categorical:  # a distribution has no ranking
        return pd.DataFrame()
    design = q.data.design
    design.data[q.indicator.name] = pd.to_numeric(design.data[q.indicator.name], errors="coerce")
    groups = [g for g in q.groups if g != "urban_rural" or "area_type" not in q.groups]
    for g in groups:
        design.data[g] = design.data[g].map(results._code)
    area = area_column(q)
    labels = {area: _area_labels(area), **variables.labels_for(q.instrument, design.data, groups, {})}
    indicator_label = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            indicator_label[lang] = _("reach “%(indicator)s”", indicator=str(q.indicator.label))
    key = (q.indicator.name, area)
    if key in q.data.rankings:
        return query.label(_ranking_query(q), q.data.rankings[key].copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        report = left_behind(design, q.indicator.name, areas=area, groups=groups, max_way=2,
                             scale=q.scale if q.indicator.share else 1.0, labels=labels,
                             indicator_label=indicator_label,
                             benchmark_label={"vi": "{value}" + ("%" if q.indicator.share else "") + " của toàn thành phố",
                                              "en": "{value}" + ("%" if q.indicator.share else "") + " city-wide"},
                             material_points=10.0 if q.indicator.share else 5.0)
    report = suppress(report, hidden=hidden_cells(query.cell_family(q), report, [area, *groups]))
    q.data.rankings[key] = report
    return query.label(_ranking_query(q), report.copy())


def _ranking_query(q: query.Query):
    """A query whose columns are every key column a ranking row can have (for labelling)."""
    groups = [g for g in q.groups if g != "urban_rural" or "area_type" not in q.groups]
    return type("RankingQuery", (), {"columns": [area_column(q), *groups], "instrument": q.instrument})()


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


def _ranking_args() -> dict:
    """The indicator, and the level when it is former districts (wards otherwise)."""
    args = {k: v for k, v in request.args.items() if k == "indicator"}
    if request.args.get("level") == "former_district":
        args["level"] = "former_district"
    return args


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
    shown = _filtered(report, column, area, group, request.args.get("all") != "1")
    names = {code: text[language()] for code, text in _area_labels(column).items()}
    present = sorted({int(c) if column == "ward_code" else c for c in q.data.frame[column].dropna()},
                     key=lambda c: collation.sort_key(names.get(c, str(c))))
    return render_template("research/left_behind.html", q=q, instrument=q.instrument, rows=shown.head(MAX_ROWS),
                           total=len(shown), flagged=int(report["left_behind"].sum()) if len(report) else 0,
                           area=area, group=group, wards=[(c, names.get(c, str(c))) for c in present],
                           group_names=variables.GROUP_NAMES, sentence=f"sentence_{language()}",
                           districts=query.former_district_note(current_app.config["KHAOSAT_PROVINCE"])
                           if q.level == "former_district" else None,
                           show_all=request.args.get("all") == "1", overall=report.attrs.get("overall"))


@bp.route("/<slug>/left-behind.<any(csv, xlsx):fmt>")
@role_required(Role.researcher)
def left_behind_download(slug: str, fmt: str):
    q = query.read_or_404(slug, _ranking_args())
    report = ranking(q).drop(columns=["cell"], errors="ignore")
    by_district = "-former-district" if q.level == "former_district" else ""
    name = f"{slug}-{q.indicator.name if q.indicator else 'none'}-left-behind{by_district}.{fmt}"
    asked = {**({"indicator": q.indicator.name} if q.indicator else {}), **_ranking_args()}
    if fmt == "csv":
        return export_attachment(exports.table_csv(report), "text/csv; charset=utf-8", name, **asked)
    return export_attachment(exports.file_stream(exports.table_xlsx(report, "left-behind")), XLSX, name, **asked)


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
                           group_names=variables.GROUP_NAMES)

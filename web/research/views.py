"""Researcher pages: the survey list, the results table with its chart, and the table downloads."""

from __future__ import annotations

import pandas as pd
from flask import Response, current_app, render_template, request, url_for
from sqlmodel import select

from surveys import areas
from web import audit, db, synthetic
from web.auth import role_required
from web.catalog import current_version
from web.i18n import _, language, ngettext
from web.models import Role, Survey
from web.research import bp, charts, exports, query
from web.research.variables import GROUP_NAMES

TABLE_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "n", "cv", "reliability"]


@bp.route("/")
@role_required(Role.researcher)
def index():
    slugs = [s.slug for s in db.session().exec(select(Survey).order_by(Survey.slug)).all()]
    instruments = [query.load_instrument(slug) for slug in slugs if current_version(db.session(), slug)]
    return render_template("research/index.html", instruments=instruments)


@bp.route("/<slug>")
@role_required(Role.researcher)
def survey_results(slug: str):
    q = query.read_or_404(slug, request.args)
    table = query.table(q)
    districts = None
    if q.level == "former_district":
        districts = {**query.former_district_summary(current_app.config["KHAOSAT_PROVINCE"]),
                     "source": areas.former_districts_source()}
    return render_template("research/results.html", q=q, table=table, benchmark=query.benchmark(q),
                           group_names=GROUP_NAMES, instrument=q.instrument, districts=districts)


def _download_table(q: query.Query) -> pd.DataFrame:
    table = query.table(q)
    keys = [c for c in table.columns if c == "ward" or c.endswith("_label")]
    return table[[*q.columns, *keys, *TABLE_COLUMNS]]


def _filename(q: query.Query, what: str, fmt: str) -> str:
    parts = [q.slug, q.indicator.name if q.indicator else "none", what, q.level, q.by, q.by2]
    return "-".join(p for p in parts if p) + f".{fmt}"


def attachment(body, mimetype: str, filename: str) -> Response:
    """A download; ``mimetype`` is the whole Content-Type (a charset in it is not added twice)."""
    return Response(body, content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def export_attachment(body, mimetype: str, filename: str, **detail: str) -> Response:
    """A download of survey data, written to the audit log (who, which file, what was asked) first; in
    the demo its name starts with "synthetic-demo-" and a header says the data are synthetic."""
    if synthetic.is_demo() and not filename.startswith(synthetic.FILE_PREFIX):
        filename = synthetic.FILE_PREFIX + filename
    audit.record("export", target=filename, detail=detail)
    response = attachment(body, mimetype, filename)
    if synthetic.is_demo():
        response.headers["X-KhaoSat-Data"] = "synthetic-demo"
    return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/<slug>/table.<any(csv, xlsx):fmt>")
@role_required(Role.researcher)
def table_download(slug: str, fmt: str):
    q = query.read_or_404(slug, request.args)
    table = _download_table(q)
    if fmt == "csv":
        return export_attachment(exports.table_csv(table), "text/csv; charset=utf-8", _filename(q, "table", "csv"),
                                 **q.args)
    name = _filename(q, "table", "xlsx")
    return export_attachment(exports.file_stream(exports.table_xlsx(table, meta=synthetic.export_meta(name))), XLSX,
                             name, **q.args)


@bp.route("/<slug>/wards.csv")
@role_required(Role.researcher)
def export_ward_table(slug: str):
    """The table by ward (kept for links made before the level and group choices)."""
    args = {**request.args.to_dict(), "level": "ward"}
    q = query.read_or_404(slug, args)
    table = query.table(q)
    table = table[["ward_code", "ward", *TABLE_COLUMNS]]
    return export_attachment(exports.table_csv(table), "text/csv; charset=utf-8", _filename(q, "by-ward", "csv"),
                             **q.args)


@bp.route("/<slug>/chart.<any(png, svg):fmt>")
@role_required(Role.researcher)
def chart(slug: str, fmt: str):
    q = query.read_or_404(slug, request.args)
    table = query.table(q)
    suppressed = int((table["reliability"] == "suppressed").sum())
    note = ngettext("%(num)d cell with too few respondents is not shown.",
                    "%(num)d cells with too few respondents are not shown.", suppressed) if suppressed else None
    title = q.indicator.label if q.indicator else ""
    body = charts.bar_chart(
        table, list(table["cell"]) if len(table) else [], title=title, benchmark=query.benchmark(q),
        benchmark_label=_("Whole city"), unreliable_label=_("unreliable (n < 30 or CV > 30%%)").replace("%%", "%"),
        suppressed_note=note, scale=q.scale, axis_label=_("Percent") if q.indicator and q.indicator.share
        else _("Score"), decimal="," if language() == "vi" else ".", fmt=fmt, empty_note=_("No responses yet."))
    mimetype = "image/png" if fmt == "png" else "image/svg+xml"
    response = Response(body, mimetype=mimetype)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{_filename(q, "chart", fmt)}"'
    return response


def chart_url(q: query.Query, fmt: str, **extra) -> str:
    return url_for("research.chart", slug=q.slug, fmt=fmt, lang=language(), **q.args, **extra)


bp.add_app_template_global(chart_url, "chart_url")

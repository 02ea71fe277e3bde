"""Researcher pages: the survey list, the results table with its chart, and the table downloads."""

from __future__ import annotations

from flask import Response, render_template, request, url_for
from sqlmodel import select

from analysis.lazy import pandas as pd
from web import audit, db, synthetic
from web.auth import role_required
from web.catalog import reported_version
from web.i18n import _, decimal_symbol, format_decimal, group_symbol, language, ngettext
from web.models import Role, Survey
from web.research import bp, charts, database_results, exports, query, streams, variables
from web.research.variables import GROUP_NAMES

TABLE_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "n", "cv", "reliability", "people", "people_low",
                 "people_high"]


@bp.route("/")
@role_required(Role.researcher)
def index():
    slugs = [s.slug for s in db.read_session().exec(select(Survey).order_by(Survey.slug)).all()]
    instruments = [query.load_instrument(slug) for slug in slugs if reported_version(db.read_session(), slug)]
    return render_template("research/index.html", instruments=instruments)


@bp.route("/<slug>")
@role_required(Role.researcher)
def survey_results(slug: str):
    q = database_results.read_or_404(slug, request.args)
    table = query.table(q)
    districts = query.former_district_note(q.provinces) if q.level == "former_district" else None
    if q.figures is not None:
        return _results_from_the_database(q, table, districts)
    both = request.args.get("streams") == "both"
    return render_template("research/results.html", q=q, level_names=query.level_names(q), table=table,
                           benchmark=query.benchmark(q),
                           streams=streams.side_by_side(q) if both else None, streams_asked=both,
                           official=streams.official_label(q),
                           other=streams.self_selected(q) if both else None,
                           group_names=GROUP_NAMES, instrument=q.instrument, districts=districts,
                           menu=variables.menu(q.offered), **_chart_figure(q, table))


def _results_from_the_database(q: query.Query, table: pd.DataFrame, districts: dict | None):
    """The results page of a survey too large for its design in memory (:mod:`web.research.database_results`)."""
    return render_template("research/results_in_database.html", q=q, level_names=query.level_names(q), table=table,
                           figures=q.figures, benchmark=query.benchmark(q), group_names=GROUP_NAMES,
                           instrument=q.instrument, districts=districts, **_chart_figure(q, table))


def _chart_figure(q: query.Query, table: pd.DataFrame) -> dict:
    """What the page says of its chart: its alternative text, how many cells it could draw and how many it draws."""
    return dict(chart_alt=_chart_alt(q, table), max_bars=charts.MAX_BARS, extremes=charts.EXTREMES,
                cells_shown=table.loc[table["reliability"] != "suppressed", "cell"].nunique() if len(table) else 0)


def _download_table(q: query.Query) -> pd.DataFrame:
    """The results table as downloaded: key columns, their labels, then the figures (shares as 0–1), then the
    stream they come from."""
    table = query.table(q)
    keys = [c for c in table.columns if c in ("ward", "province") or c.endswith("_label")]
    category = ["category"] if "category" in table.columns else []
    return streams.labelled(table[[*q.columns, *category, *keys, *TABLE_COLUMNS]], streams.official_label(q))


def _chart_alt(q: query.Query, table: pd.DataFrame) -> str:
    """The chart's alternative text: what it shows, its lowest and highest cells; the table has the rest."""
    if q.indicator is None or table.empty:
        return _("No responses yet.")
    shown = table[table["reliability"] != "suppressed"]
    if q.indicator.categorical or shown.empty:
        return _("Chart of the share of each answer to “%(indicator)s” in every cell, as in the table below.",
                 indicator=q.indicator.label)
    low, high = shown.loc[shown["estimate"].idxmin()], shown.loc[shown["estimate"].idxmax()]
    unit = "%" if q.indicator.share else ""
    return _("Bar chart of “%(indicator)s” in %(cells)s cells with 95%% confidence intervals; lowest: %(low)s "
             "(%(low_value)s%(unit)s), highest: %(high)s (%(high_value)s%(unit)s). The table below lists every value.",
             indicator=q.indicator.label, cells=format_decimal(len(shown)), low=low["cell"], high=high["cell"], unit=unit,
             low_value=format_decimal(low["estimate"] * q.scale, format="#,##0.0"),
             high_value=format_decimal(high["estimate"] * q.scale, format="#,##0.0"))


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
    q = database_results.read_or_404(slug, request.args)
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
    q = database_results.read_or_404(slug, args)
    table = streams.labelled(query.table(q)[["ward_code", "ward", *TABLE_COLUMNS]], streams.official_label(q))
    return export_attachment(exports.table_csv(table), "text/csv; charset=utf-8", _filename(q, "by-ward", "csv"),
                             **q.args)


@bp.route("/<slug>/chart.<any(png, svg):fmt>")
@role_required(Role.researcher)
def chart(slug: str, fmt: str):
    q = database_results.read_or_404(slug, request.args)
    width = charts.NARROW_IN if request.args.get("size") == "narrow" else charts.WIDTH_IN
    key = ("chart", fmt, width, language(), tuple(sorted(q.args.items())))
    # drawn once per design (or roll-up), query and language; on a large survey in memory, in a thread of this worker
    # when it has not drawn it yet (a worker other than the page's has not made its table either): "being drawn"
    body = query.derived(q, key, lambda: _drawn(q, fmt, width))
    mimetype = "image/png" if fmt == "png" else "image/svg+xml"
    response = Response(body, mimetype=mimetype)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{_filename(q, "chart", fmt)}"'
    return response


def _drawn(q: query.Query, fmt: str, width: float) -> bytes:
    table = query.table(q)
    suppressed = int((table["reliability"] == "suppressed").sum())
    note = ngettext("%(num)s cell is not shown, to protect small groups.",
                    "%(num)s cells are not shown, to protect small groups.", suppressed) if suppressed else None
    share = bool(q.indicator and (q.indicator.share or q.indicator.categorical))
    texts = charts.Texts(
        title=q.indicator.label if q.indicator else "", subtitle=streams.stream_label(streams.official_label(q)),
        axis=_("Percent of people") if share else _("Score"),
        benchmark=query.whole_label(q.provinces), benchmark_unit="%" if share else "",
        unreliable=_("unreliable (few respondents or a wide interval)") if share
        else _("unreliable (n < 30 or CV > 30%%)").replace("%%", "%"),
        suppressed_note=note, empty=_("No responses yet."), decimal=decimal_symbol(), group=group_symbol(),
        left_out=_("… %(num)s cells between these are not drawn: the table lists every cell …", num="{num}"))
    cells = list(table["cell"]) if len(table) else []
    if q.indicator is not None and q.indicator.categorical and len(table):
        return charts.distribution_chart(table, cells, list(q.indicator.levels), texts=texts, fmt=fmt, width=width)
    return charts.bar_chart(table, cells, texts=texts, benchmark=query.benchmark(q), scale=q.scale,
                            share=share, fmt=fmt, width=width)


@bp.app_template_filter("people")
def people(value: float) -> str:
    """A number of people as an estimate deserves: whole people below 100, else two significant digits."""
    if value is None or value != value:
        return "–"
    if value < 100:
        return format_decimal(round(value))
    digits = len(str(int(value))) - 2
    return format_decimal(int(round(value, -digits)))


def chart_url(q: query.Query, fmt: str, **extra) -> str:
    return url_for("research.chart", slug=q.slug, fmt=fmt, lang=language(), **q.args, **extra)


bp.add_app_template_global(chart_url, "chart_url")

"""Microdata exports, the codebook, and the admin's upload of population margins."""

from __future__ import annotations

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from surveys import areas
from web import db, synthetic
from web.auth import requesting_user, role_required
from web.catalog import ward_names
from web.i18n import _, language
from web.models import Role
from web.research import bp, codebook, exports, query
from web.research.margins import parse_margins, replace_margins
from web.research.views import XLSX, attachment, export_attachment
from web.research.weighting import margins_frame
from web.tables import iter_frames, roster_frame

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": XLSX,
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
    "parquet": "application/vnd.apache.parquet",
}


@bp.route("/<slug>/downloads")
@role_required(Role.researcher)
def downloads(slug: str):
    instrument = query.load_instrument(slug)
    return render_template("research/downloads.html", instrument=instrument, formats=list(FORMATS))


@bp.route("/<slug>/export.<any(csv, xlsx, sav, dta, parquet):fmt>")
@role_required(Role.researcher)
def export(slug: str, fmt: str):
    """De-identified microdata, one row per response, with the final weight and the design variables.

    A survey with rosters (repeat groups) also gets one table per roster, one row per roster row keyed
    by ``id`` and ``row``: a sheet of the XLSX, or, in the other formats, a second file of the same
    format in a zip with the main table (as ODK Central and KoboToolbox export repeat groups).
    """
    q = query.read_or_404(slug, {})
    spec = codebook.variables(q.instrument)
    columns = [v.name for v in spec]
    frame = q.data.frame
    weights = frame.set_index("response_id")["weight"] if not frame.empty else frame.get("weight")
    names = ward_names(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    lang = language()
    meta = synthetic.export_meta(f"{q.instrument.text(q.instrument.title, lang)} ({slug})")
    rosters = {name: exports.shape_roster(roster_frame(db.session(), slug, name), variables)
               for name, variables in codebook.rosters(q.instrument).items()}

    def rows():
        for chunk in iter_frames(db.session(), slug):
            yield exports.shape(chunk, spec, weights, names)

    filename = f"{synthetic.FILE_PREFIX if synthetic.is_demo() else ''}{slug}-microdata-{lang}.{fmt}"
    current_app.logger.info("export %s by user %s", filename, requesting_user().id)
    if fmt == "csv" and not rosters:
        return export_attachment(stream_with_context(exports.csv_stream(rows(), columns)), FORMATS[fmt], filename,
                                 format=fmt)
    if fmt == "xlsx":
        sheets = {**rosters, "codebook": exports.codebook_frame(spec)}
        return export_attachment(exports.file_stream(exports.xlsx_file(rows(), columns, sheets, meta=meta)),
                                 FORMATS[fmt], filename, format=fmt)
    main = _microdata_file(rows(), spec, fmt, lang, meta)
    if not rosters:
        return export_attachment(exports.file_stream(main), FORMATS[fmt], filename, format=fmt)
    stem = filename.removesuffix(f".{fmt}")
    members = {f"{stem}.{fmt}": main}
    for name, table in rosters.items():
        members[f"{stem}-{name}.{fmt}"] = _microdata_file([table], codebook.rosters(q.instrument)[name], fmt, lang,
                                                          meta)
    members[f"{stem}-codebook.csv"] = exports.csv_file([exports.codebook_frame(spec)],
                                                       list(exports.codebook_frame(spec).columns))
    archive = exports.zip_file(members, comment=meta.get("synthetic", ""))
    return export_attachment(exports.file_stream(archive), "application/zip", f"{stem}-{fmt}.zip", format=fmt)


def _microdata_file(frames, spec: list[codebook.Variable], fmt: str, lang: str, meta: dict[str, str]) -> str:
    """One table in one of the file formats (not XLSX), in a temporary file; its path."""
    if fmt == "csv":
        return exports.csv_file(frames, [v.name for v in spec])
    if fmt == "parquet":
        return exports.parquet_file(frames, spec, meta)
    return exports.stats_file(frames, spec, fmt, lang, meta)


@bp.route("/<slug>/codebook.<any(html, csv):fmt>")
@role_required(Role.researcher)
def codebook_page(slug: str, fmt: str):
    instrument = query.load_instrument(slug)
    spec = codebook.variables(instrument)
    if fmt == "csv":
        return attachment(exports.table_csv(exports.codebook_frame(spec)), FORMATS["csv"], f"{slug}-codebook.csv")
    return render_template("research/codebook.html", instrument=instrument, spec=spec,
                           note=instrument.scoring.get("note") or {})


class MarginsForm(FlaskForm):
    file = FileField()


@bp.route("/margins", methods=["GET", "POST"])
@role_required(Role.admin)
def margins():
    """Upload the census table (ward x sex x age band counts) used to calibrate the weights."""
    province = current_app.config["KHAOSAT_PROVINCE"]
    form = MarginsForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            problems = [_("Choose a CSV file to upload.")]
        else:
            table, problems = parse_margins(upload.read(), set(areas.ward_codes(province)))
            if table is not None:
                count = replace_margins(db.session(), province, table, upload.filename, requesting_user().id)
                flash(_("Population margins saved: %(n)d cells.", n=count))
                return redirect(url_for("research.margins"))
    current = margins_frame(db.session(), province)
    status = 422 if problems else 200
    return render_template("research/margins.html", form=form, problems=problems, current=current,
                           people=int(current["count"].sum()) if not current.empty else 0), status


@bp.route("/margins/template.csv")
@role_required(Role.admin)
def margins_template():
    """The province's current margins (or an empty table with the right columns), as CSV."""
    current = margins_frame(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    return Response(exports.table_csv(current), mimetype=FORMATS["csv"],
                    headers={"Content-Disposition": 'attachment; filename="population-margins.csv"'})

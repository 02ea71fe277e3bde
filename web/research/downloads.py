"""Microdata exports, the codebook, and the admin's upload of population margins."""

from __future__ import annotations

import base64
import binascii

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
from wtforms import BooleanField, HiddenField

from web import db, synthetic
from web.auth import requesting_user, role_required
from web.catalog import ward_names
from web.i18n import _, language, ngettext
from web.models import Role
from web.research import bp, codebook, exports, query, releases, risk_report
from web.research.margins import compare, digest, parse_margins, replace_margins, stored_rows
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
    """The scientific-use file: one row per response, the ward, design variables and final weight kept,
    quasi-identifiers protected to the risk threshold (see :mod:`web.research.releases`)."""
    return _release_download(slug, fmt, releases.SCIENTIFIC)


@bp.route("/<slug>/export-public.<any(csv, xlsx, sav, dta, parquet):fmt>")
@role_required(Role.researcher)
def export_public(slug: str, fmt: str):
    """The public-use file: every quasi-identifier combination shared by at least k records."""
    return _release_download(slug, fmt, releases.PUBLIC)


@bp.route("/<slug>/export-full.<any(csv, xlsx, sav, dta, parquet):fmt>")
@role_required(Role.admin)
def export_full(slug: str, fmt: str):
    """The full microdata (year of birth and paradata included), for admins only."""
    return _release_download(slug, fmt, releases.FULL)


FILE_NAMES = {releases.SCIENTIFIC: "scientific-use", releases.PUBLIC: "public-use", releases.FULL: "full"}


def _release_download(slug: str, fmt: str, tier: str):
    q = query.read_or_404(slug, {})
    made = releases.release(q.data, q.instrument, tier)
    spec = releases.variables(q.instrument, made)
    columns = [v.name for v in spec]
    frame = q.data.frame
    weights = frame.set_index("response_id")["weight"] if not frame.empty else frame.get("weight")
    names = ward_names(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    lang = language()
    meta = synthetic.export_meta(f"{q.instrument.text(q.instrument.title, lang)} ({slug})")
    # roster rows are keyed by the response's database id, which the scientific- and public-use files
    # replace by release numbers: they travel with the full file only; the released files keep each
    # roster's number of rows
    rosters = {name: exports.shape_roster(roster_frame(db.session(), slug, name), variables)
               for name, variables in codebook.rosters(q.instrument).items()} if tier == releases.FULL else {}

    def rows():
        for chunk in iter_frames(db.session(), slug):
            yield releases.apply(made, exports.shape(chunk, spec, weights, names))

    filename = f"{synthetic.FILE_PREFIX if synthetic.is_demo() else ''}{slug}-{FILE_NAMES[tier]}-{lang}.{fmt}"
    current_app.logger.info("export %s by user %s", filename, requesting_user().id)
    detail = {"format": fmt, **made.summary()}
    if fmt == "csv" and not rosters:
        return export_attachment(stream_with_context(exports.csv_stream(rows(), columns)), FORMATS[fmt], filename,
                                 **detail)
    if fmt == "xlsx":
        sheets = {**rosters, "codebook": exports.codebook_frame(spec)}
        if tier != releases.FULL:
            sheets["risk_report"] = risk_report.report_frame(made)
        return export_attachment(exports.file_stream(exports.xlsx_file(rows(), columns, sheets, meta=meta)),
                                 FORMATS[fmt], filename, **detail)
    main = _microdata_file(rows(), spec, fmt, lang, meta)
    if not rosters:
        return export_attachment(exports.file_stream(main), FORMATS[fmt], filename, **detail)
    stem = filename.removesuffix(f".{fmt}")
    members = {f"{stem}.{fmt}": main}
    for name, table in rosters.items():
        members[f"{stem}-{name}.{fmt}"] = _microdata_file([table], codebook.rosters(q.instrument)[name], fmt, lang,
                                                          meta)
    members[f"{stem}-codebook.csv"] = exports.csv_file([exports.codebook_frame(spec)],
                                                       list(exports.codebook_frame(spec).columns))
    archive = exports.zip_file(members, comment=meta.get("synthetic", ""))
    return export_attachment(exports.file_stream(archive), "application/zip", f"{stem}-{fmt}.zip", **detail)


@bp.route("/<slug>/disclosure")
@role_required(Role.researcher)
def disclosure(slug: str):
    """The disclosure-risk report of the scientific-use and public-use files, before and after protection."""
    q = query.read_or_404(slug, {})
    made = [releases.release(q.data, q.instrument, tier) for tier in (releases.SCIENTIFIC, releases.PUBLIC)]
    return render_template("research/disclosure.html", instrument=q.instrument, releases=made,
                           reports=[risk_report.rows(m) for m in made], formats=list(FORMATS),
                           is_admin=requesting_user().role == Role.admin.value,
                           min_cell=current_app.config["MIN_CELL_COUNT"],
                           protection=current_app.config["TABLE_PROTECTION"])


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


class ConfirmMarginsForm(FlaskForm):
    """The checked file sent back with the comparison it was shown with; checked again in full."""

    content = HiddenField()  #: the file as base64 (a hidden input would lose its line breaks)
    filename = HiddenField()
    digest = HiddenField()  #: :func:`web.research.margins.digest` of the margins the comparison was made with
    remove_missing = BooleanField()


@bp.route("/margins", methods=["GET", "POST"])
@role_required(Role.admin)
def margins():
    """Upload the census table (ward x sex x age band counts) used to calibrate the weights.

    An upload is checked and compared with the margins in use (wards added, changed, removed); nothing
    is stored until the admin confirms that comparison, and wards the file leaves out are removed only
    when the admin ticks that they should be.
    """
    province = current_app.config["KHAOSAT_PROVINCE"]
    form, confirm = MarginsForm(), ConfirmMarginsForm()
    problems: list[str] = []
    status = 200
    comparison = None
    stored = stored_rows(db.session(), province)
    if request.method == "POST" and "digest" in request.form and confirm.validate_on_submit():
        table, problems = parse_margins(_unpacked(confirm.content.data), province)
        if table is not None:
            comparison = compare(stored, table, province)
            if confirm.digest.data != digest(stored):
                problems, comparison = [_("The margins in use changed after this comparison was made. "
                                          "Upload the file again to see what it would change now.")], None
                status = 409
            elif comparison.removed and not confirm.remove_missing.data:
                problems = [ngettext("The file leaves out %(num)d ward that has margins now. Tick the box to remove "
                                     "its margins, or upload a file with every ward.",
                                     "The file leaves out %(num)d wards that have margins now. Tick the box to "
                                     "remove their margins, or upload a file with every ward.",
                                     len(comparison.removed))]
            else:
                count = replace_margins(db.session(), province, table, confirm.filename.data or "upload.csv",
                                        requesting_user().id, comparison)
                flash(_("Population margins saved: %(n)d cells.", n=count))
                return redirect(url_for("research.margins"))
        status = status if status != 200 else 422
    elif form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            problems = [_("Choose a CSV file to upload.")]
        else:
            data = upload.read()
            table, problems = parse_margins(data, province)
            if table is not None:
                comparison = compare(stored, table, province)
                confirm = ConfirmMarginsForm(formdata=None, content=base64.b64encode(data).decode("ascii"),
                                             filename=upload.filename[:200], digest=digest(stored))
        status = 422 if problems else 200
    current = margins_frame(db.session(), province)
    return render_template("research/margins.html", form=form, confirm=confirm, comparison=comparison,
                           problems=problems, current=current,
                           people=int(current["count"].sum()) if not current.empty else 0), status


def _unpacked(content: str | None) -> bytes:
    try:
        return base64.b64decode(content or "", validate=True)
    except (binascii.Error, ValueError):
        return b""


@bp.route("/margins/template.csv")
@role_required(Role.admin)
def margins_template():
    """The province's current margins (or an empty table with the right columns), as CSV."""
    current = margins_frame(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    return Response(exports.table_csv(current), mimetype=FORMATS["csv"],
                    headers={"Content-Disposition": 'attachment; filename="population-margins.csv"'})

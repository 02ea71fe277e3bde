"""Microdata exports, the codebook, and the admin's upload of population margins."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass

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

from surveys import areas
from web import db, errors, synthetic
from web.auth import requesting_user, role_required
from web.catalog import survey_provinces, ward_names
from web.i18n import _, format_decimal, language, lazy_gettext, ngettext
from web.models import Role
from web.research import (
    bp,
    codebook,
    exports,
    fragments,
    query,
    releases,
    releases_in_database,
    risk_report,
    weight_cells,
)
from web.research.margins import (
    compare,
    compare_provinces,
    digest,
    parse_margins,
    parse_province_margins,
    province_digest,
    replace_margins,
    replace_province_margins,
    stored_province_rows,
    stored_rows,
)
from web.research.views import XLSX, attachment, export_attachment
from web.research.weighting import TooLarge, margins_frame, province_margins_frame, too_large
from web.tables import iter_frames, response_count, response_ids, roster_frame

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": XLSX,
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
    "parquet": "application/vnd.apache.parquet",
}


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


def _released_rosters(instrument, made, slug: str) -> tuple[dict, dict]:
    """Each roster's own table as the tier releases it (:func:`releases.roster_variables`), and its variables."""
    rosters, roster_specs = {}, {}
    for name, variables in codebook.rosters(instrument).items():
        kept = releases.roster_variables(made, variables)
        if kept is not None:
            table = exports.shape_roster(roster_frame(db.read_session(), slug, name), variables)
            rosters[name], roster_specs[name] = releases.apply_roster(made, name, table, kept), kept
    return rosters, roster_specs


@dataclass
class Download:
    """One download of microdata as the tier releases it, before it is written: the rows (chunk by chunk),
    the roster tables, the name, and what the audit log records of it."""

    released: releases.Release
    slug: str
    fmt: str
    tier: str
    lang: str
    spec: list[codebook.Variable]
    rows: Callable[[], Iterator]
    rosters: dict
    roster_specs: dict
    meta: dict[str, str]
    filename: str
    detail: dict
    total_rows: int
    csv: Callable[[], Iterator[bytes]] | None = None  #: the main table as CSV, when made otherwise than from ``rows``

    @property
    def columns(self) -> list[str]:
        return [v.name for v in self.spec]

    def csv_blocks(self) -> Iterator[bytes]:
        """The main table as CSV (:func:`web.research.exports.csv_stream` of :attr:`rows`, the same bytes)."""
        return self.csv() if self.csv is not None else exports.csv_stream(self.rows(), self.columns)


def release(slug: str, fmt: str, tier: str, chunk_rows: int = 10000,
            on_chunk: Callable[[int], None] | None = None) -> Download:
    """What a download of ``slug`` in ``fmt`` at ``tier`` holds; ``on_chunk(rows)`` hears of each chunk
    written (the background job's progress). The one way microdata leave: the direct download and the
    background job both write this.

    The rows stream from the database (a server-side cursor on PostgreSQL) chunk by chunk, each row's final
    weight joined from the served weighting cells (:mod:`web.research.weight_cells`). The full file needs
    nothing else, so its memory stays flat whatever the number of responses; the protected tiers also
    need every record's quasi-identifiers for their disclosure protection, read from the served design."""
    session = db.read_session()
    instrument = query.load_instrument(slug)
    provinces = survey_provinces(session, slug)
    if tier == releases.FULL:
        made, total = releases.Release(releases.FULL, [], "ward_code", {}), response_count(session, slug)
        cells = weight_cells.served(session, slug, provinces)
    elif too_large(response_count(session, slug)):  # no design in memory: its records' keys, read chunk by chunk
        cells = weight_cells.served(session, slug, provinces)
        frame, apart = releases_in_database.records(session, slug, provinces, instrument, cells)
        ids = [i for i in response_ids(session, slug) if i not in apart]
        made, total = releases.protect(frame, instrument, tier, ids), len(ids)
    else:
        data = query.read_or_404(slug, {}).data
        apart = _kept_apart(data)
        ids = [i for i in response_ids(session, slug) if i not in apart]
        made, total = releases.release(data, instrument, tier, ids), len(ids)
        cells = weight_cells.of_design(data)
    spec = releases.variables(instrument, made)
    names = ward_names(session, provinces)
    lang = language()
    meta = synthetic.export_meta(f"{instrument.text(instrument.title, lang)} ({slug})")
    rosters, roster_specs = _released_rosters(instrument, made, slug)

    def rows():
        for chunk in iter_frames(db.read_session(), slug, chunk_size=chunk_rows):
            if tier != releases.FULL and apart:
                chunk = chunk[~chunk["response_id"].isin(apart)]
            yield releases.apply(made, exports.shape(chunk, spec, cells.weights(chunk), names))
            if on_chunk is not None:
                on_chunk(len(chunk))

    filename = f"{synthetic.FILE_PREFIX if synthetic.is_demo() else ''}{slug}-{FILE_NAMES[tier]}-{lang}.{fmt}"
    return Download(made, slug, fmt, tier, lang, spec, rows, rosters, roster_specs, meta, filename,
                   {"format": fmt, **made.summary()}, total,
                   _kept_rows(slug, spec, cells, names, chunk_rows, on_chunk) if tier == releases.FULL else None)


def keep_rows(slug: str, on_chunk: Callable[[int], None] | None = None) -> int:
    """Make and keep the full file's CSV bytes of every response of ``slug`` that has none of the current
    layout (:func:`web.research.fragments.backfill`); how many were made."""
    session = db.session()
    instrument = query.load_instrument(slug)
    names = ward_names(session, survey_provinces(session, slug))
    spec = releases.variables(instrument, releases.Release(releases.FULL, [], "ward_code", {}))
    layout = fragments.Layout(spec, names, None, fragments.layout_stamp(spec, names), db.engine())
    return fragments.backfill(session, slug, layout, on_chunk=on_chunk)


def _kept_rows(slug: str, spec, cells, names, chunk_rows: int, on_chunk) -> Callable[[], Iterator[bytes]] | None:
    """The full file's CSV from the rows kept per response (:mod:`web.research.fragments`), when enabled."""
    if not current_app.config["KHAOSAT_CSV_ROWS_KEPT"]:
        return None
    layout = fragments.Layout(spec, names, cells, fragments.layout_stamp(spec, names), db.engine())
    return lambda: fragments.csv_stream(db.read_session(), slug, layout, chunk_rows, on_chunk)


def _kept_apart(data) -> set[int]:
    """The responses of the self-selected stream (QR codes, links) kept apart from the probability sample's
    design: the protected files leave them out, because their disclosure protection is measured on the
    design's records with their weights, and these have neither (the full file keeps them, weight empty)."""
    frame = data.nonprobability
    return set(frame["response_id"].astype("int64").tolist()) if "response_id" in frame else set()


def release_file(made: Download) -> tuple[str, str, str]:
    """Write the whole download to a temporary file: its path, type and name (a zip when there are rosters)."""
    fmt, spec = made.fmt, made.spec
    if fmt == "xlsx":
        sheets = {**made.rosters, "codebook": exports.codebook_frame(spec)}
        if made.tier != releases.FULL:
            sheets["risk_report"] = risk_report.report_frame(made.released)
        return exports.xlsx_file(made.rows(), made.columns, sheets, meta=made.meta), FORMATS[fmt], made.filename
    main = exports.blocks_file(made.csv_blocks(), ".csv") if fmt == "csv" \
        else _microdata_file(made.rows(), spec, fmt, made.lang, made.meta)
    if not made.rosters:
        return main, FORMATS[fmt], made.filename
    stem = made.filename.removesuffix(f".{fmt}")
    members = {f"{stem}.{fmt}": main}
    for name, table in made.rosters.items():
        members[f"{stem}-{name}.{fmt}"] = _microdata_file([table], made.roster_specs[name], fmt, made.lang, made.meta)
    members[f"{stem}-codebook.csv"] = exports.csv_file([exports.codebook_frame(spec)],
                                                       list(exports.codebook_frame(spec).columns))
    archive = exports.zip_file(members, comment=made.meta.get("synthetic", ""))
    return archive, "application/zip", f"{stem}-{fmt}.zip"


#: why a script's direct download of a protected file of a survey over the in-memory limit is refused: protecting its
#: records takes minutes, longer than a server lets a request run (gunicorn's 30 s); the page prepares it as a job
PREPARED_ONLY = lazy_gettext("This survey is too large for its scientific- and public-use files to be made while a "
                             "download waits: their records are protected in the background, which takes minutes. "
                             "Prepare the file on the survey's downloads page; it appears under “Your downloads” when "
                             "it is ready. The full data file can still be downloaded directly.")


def _release_download(slug: str, fmt: str, tier: str):
    if request.headers.get("Authorization") and tier != releases.FULL and too_large(response_count(db.session(), slug)):
        return errors.refuse(409, PREPARED_ONLY)
    if not request.headers.get("Authorization") and large_survey(slug):
        flash(_("This file holds more than %(n)s responses: it is prepared in the background. Choose "
                "“Prepare” below; it appears under “Your downloads” when it is ready.",
                n=format_decimal(current_app.config["KHAOSAT_JOB_THRESHOLD"])))
        return redirect(url_for("research.downloads", slug=slug), 303)
    made = release(slug, fmt, tier)
    current_app.logger.info("export %s by user %s", made.filename, requesting_user().id)
    if fmt == "csv" and not made.rosters:
        return export_attachment(stream_with_context(made.csv_blocks()), FORMATS[fmt],
                                 made.filename, **made.detail)
    path, mimetype, filename = release_file(made)
    return export_attachment(exports.file_stream(path), mimetype, filename, **made.detail)


def large_survey(slug: str) -> bool:
    """More responses than ``KHAOSAT_JOB_THRESHOLD``: a page's download is then prepared in the background."""
    return response_count(db.session(), slug) > current_app.config["KHAOSAT_JOB_THRESHOLD"]


@bp.route("/<slug>/disclosure")
@role_required(Role.researcher)
def disclosure(slug: str):
    """The disclosure-risk report of the scientific-use and public-use files, before and after protection."""
    session = db.session()
    instrument, measured, failed = query.load_instrument(slug), None, False
    try:
        q = query.read_or_404(slug, {})
    except TooLarge:  # measured in the background at this size (known too large in O(1): no count of the responses)
        try:
            measured = releases_in_database.measured(session, slug, survey_provinces(session, slug), instrument,
                                                     again=request.args.get("again") == "1")
            made = measured.releases
        except releases_in_database.MeasurementFailed:
            made, failed = [], True
    else:
        ids = response_ids(db.read_session(), slug)
        made = [releases.release(q.data, instrument, tier, ids) for tier in (releases.SCIENTIFIC, releases.PUBLIC)]
    return render_template("research/disclosure.html", instrument=instrument, releases=made, measured=measured,
                           failed=failed,
                           reports=[risk_report.rows(m) for m in made], formats=list(FORMATS),
                           rosters=list(codebook.rosters(instrument)),
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


def _confirm_problems(confirm: ConfirmMarginsForm, stored, comparison) -> tuple[list[str], int]:
    """Why a confirmed upload cannot be saved (the margins changed since: 409; wards it leaves out not
    ticked for removal), or no problem."""
    if confirm.digest.data != digest(stored):
        return [_("The margins in use changed after this comparison was made. "
                  "Upload the file again to see what it would change now.")], 409
    if comparison.removed and not confirm.remove_missing.data:
        return [ngettext("The file leaves out %(num)s ward that has margins now. Tick the box to remove "
                         "its margins, or upload a file with every ward.",
                         "The file leaves out %(num)s wards that have margins now. Tick the box to "
                         "remove their margins, or upload a file with every ward.",
                         len(comparison.removed))], 200
    return [], 200


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
            problems, status = _confirm_problems(confirm, stored, comparison)
            if status == 409:
                comparison = None
            elif not problems:
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
    return _margins_page(form, confirm, comparison, problems), status


def _margins_page(form: FlaskForm, confirm: FlaskForm, comparison, problems: list[str], **extra) -> str:
    current = margins_frame(db.session(), current_app.config["KHAOSAT_PROVINCE"])
    by_province = province_margins_frame(db.session(), tuple(p.code for p in areas.provinces()))
    return render_template("research/margins.html", form=form, confirm=confirm, comparison=comparison,
                           problems=problems, current=current, by_province=by_province,
                           province_names=areas.province_names(),
                           people=int(current["count"].sum()) if not current.empty else 0, **extra)


@bp.route("/margins/provinces", methods=["POST"])
@role_required(Role.admin)
def province_margins():
    """Upload the census table by province x sex x age band, which surveys covering several provinces or the
    nation are calibrated to. Like the ward table, a good file is first compared with the margins in use
    (cells added, changed and removed, people by province) and stored only when the admin confirms that
    comparison; it replaces the margins of the provinces it lists, and a file with any problem changes nothing."""
    stored = stored_province_rows(db.session())
    if "digest" in request.form:
        return _confirm_province_margins(stored)
    form = MarginsForm()
    upload = request.files.get("file") if form.validate_on_submit() else None
    if upload is None or not upload.filename:
        return _province_problems([_("Choose a CSV file to upload.")])
    data = upload.read()
    table, problems = parse_province_margins(data)
    if table is None:
        return _province_problems(problems)
    confirm = ConfirmMarginsForm(formdata=None, content=base64.b64encode(data).decode("ascii"),
                                 filename=upload.filename[:200], digest=province_digest(stored))
    return _margins_page(MarginsForm(formdata=None), ConfirmMarginsForm(formdata=None), None, [],
                         province_comparison=compare_provinces(stored, table), province_confirm=confirm)


def _province_problems(problems: list[str], status: int = 422):
    return _margins_page(MarginsForm(formdata=None), ConfirmMarginsForm(formdata=None), None, [],
                         province_problems=problems), status


def _confirm_province_margins(stored):
    """Store a confirmed province file, when the margins in use are still those it was compared with."""
    confirm = ConfirmMarginsForm()
    if not confirm.validate_on_submit():
        return _province_problems([_("The form expired. Please go back, reload the page and try again.")], 400)
    table, problems = parse_province_margins(_unpacked(confirm.content.data))
    if table is None:
        return _province_problems(problems)
    if confirm.digest.data != province_digest(stored):
        return _province_problems([_("The margins in use changed after this comparison was made. "
                                     "Upload the file again to see what it would change now.")], 409)
    comparison = compare_provinces(stored, table)
    if comparison.changes_anything:
        count = replace_province_margins(db.session(), table, confirm.filename.data or "upload.csv",
                                         requesting_user().id)
        flash(_("Province margins saved: %(n)d cells.", n=count))
    return redirect(url_for("research.margins", _anchor="by-province"))


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

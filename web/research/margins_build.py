"""Building the new wards' census margins from a former-unit table and the conversion table
(``/research/margins/build``, admins); the result goes through the margins preview before it is saved.

Files: the census by former unit (CSV ``old_code,sex,age_band,count``) and the conversion table (CSV
``old_code,ward_code`` and optionally ``share``: the part of the former unit's population in that new
ward). The rule for each split unit is :mod:`analysis.margins_builder`'s and is shown with the preview.
"""

from __future__ import annotations

import base64
import csv
import io

from flask import current_app, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from analysis.lazy import pandas as pd
from analysis.margins_builder import build_margins
from web import db
from web.auth import role_required
from web.i18n import _
from web.models import Role
from web.research import bp
from web.research.downloads import ConfirmMarginsForm, MarginsForm
from web.research.margins import compare, digest, parse_margins, stored_rows
from web.research.weighting import margins_frame

OLD_COLUMNS = ("old_code", "sex", "age_band", "count")
CONVERSION_COLUMNS = ("old_code", "ward_code")


class BuildForm(FlaskForm):
    old = FileField()
    conversion = FileField()


def _read(upload, columns: tuple[str, ...], what: str) -> tuple[pd.DataFrame | None, list[str]]:
    if upload is None or not upload.filename:
        return None, [_("Choose the %(what)s file.", what=what)]
    try:
        frame = pd.read_csv(io.BytesIO(upload.read()), dtype=str, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error):
        return None, [_("The %(what)s file is not a readable UTF-8 CSV table.", what=what)]
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        return None, [_("The %(what)s file lacks column(s): %(columns)s.", what=what, columns=", ".join(missing))]
    problems = []
    for column in ("old_code", "ward_code", "count"):
        if column in frame:
            bad = frame.index[~frame[column].fillna("").str.strip().str.fullmatch(r"[0-9]{1,9}")]
            problems += [_("Line %(line)d of the %(what)s file: “%(value)s” is not a whole number (%(column)s).",
                           line=int(i) + 2, what=what, value=str(frame.at[i, column])[:40], column=column)
                         for i in bad[:10]]
    if "share" in frame:
        share = pd.to_numeric(frame["share"], errors="coerce")
        bad = frame.index[frame["share"].notna() & (share.isna() | (share < 0) | (share > 1))]
        problems += [_("Line %(line)d of the %(what)s file: the share must be from 0 to 1.", line=int(i) + 2,
                       what=what) for i in bad[:10]]
    if problems:
        return None, problems
    for column in ("old_code", "ward_code", "count"):
        if column in frame:
            frame[column] = frame[column].astype(int)
    return frame, []


MESSAGES = {
    "old_unit_not_in_conversion": lambda v: _("%(count)d former unit(s) of the census table are not in the "
                                              "conversion table: %(units)s.", count=v["count"],
                                              units=", ".join(map(str, v["units"]))),
    "shares_do_not_add_up": lambda v: _("The shares of former unit %(unit)s add up to %(total)s, not 1.",
                                        unit=v["unit"], total=round(v["total"], 4)),
    "shares_partly_given": lambda v: _("Former unit %(unit)s has a share for some of its new wards only: give "
                                       "all or none.", unit=v["unit"]),
}


@bp.route("/margins/build", methods=["GET", "POST"])
@role_required(Role.admin)
def margins_build():
    province = current_app.config["KHAOSAT_PROVINCE"]
    form = BuildForm()
    problems: list[str] = []
    comparison = confirm = units = None
    if form.validate_on_submit():
        old, problems = _read(request.files.get("old"), OLD_COLUMNS, _("census by former unit"))
        conversion, more = _read(request.files.get("conversion"), CONVERSION_COLUMNS, _("conversion"))
        problems += more
        if not problems:
            built = build_margins(old, conversion)
            problems = [MESSAGES[code](values) for code, values in built.problems]
            if not problems:
                data = built.table.to_csv(index=False).encode()
                table, problems = parse_margins(data, province)  # the margins upload's own checks
                if table is not None:
                    stored = stored_rows(db.session(), province)
                    comparison = compare(stored, table, province)
                    confirm = ConfirmMarginsForm(formdata=None, content=base64.b64encode(data).decode("ascii"),
                                                 filename="built-from-former-units.csv", digest=digest(stored))
                    units = built.units
    current = margins_frame(db.session(), province)
    return render_template("research/margins.html", form=MarginsForm(), confirm=confirm or ConfirmMarginsForm(),
                           comparison=comparison, problems=problems, current=current, build_form=form, units=units,
                           people=int(current["count"].sum()) if not current.empty else 0), 422 if problems else 200

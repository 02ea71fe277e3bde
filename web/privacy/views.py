"""Public privacy pages: each survey's privacy notice, and erasure with a resume or erase code."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, render_template, request
from flask_wtf import FlaskForm
from sqlmodel import select

from web import db
from web.auth import public
from web.catalog import current_version, instrument_of
from web.i18n import _
from web.limits import limiter, setting
from web.models import Survey
from web.privacy import bp
from web.privacy.operations import erase_by_code


@bp.route("/erase", methods=["GET", "POST"])
@limiter.limit(setting("KHAOSAT_CODE_LIMIT"), methods=["POST"])
@public
def erase():
    form = FlaskForm()
    error, erased, status = None, None, 200
    if form.validate_on_submit():
        code = request.form.get("code", "")
        if request.form.get("confirm") != "yes":
            error, status = _("Please tick the box to confirm that you want your answers erased."), 422
        else:
            erased = erase_by_code(db.session(), code)
            if erased is None:
                error, status = _("This code was not found. Please check it and try again."), 404
    return render_template("privacy/erase.html", form=form, error=error, erased=erased), status


def notice_context(survey: Survey) -> dict:
    """What a survey's privacy notice shows besides its text: controller, contact and retention."""
    end = current_app.config.get("KHAOSAT_FIELDWORK_END")
    try:
        fieldwork_end = dt.date.fromisoformat(end) if end else None
    except ValueError:
        fieldwork_end = None
    return {"survey": survey, "retention_days": current_app.config["KHAOSAT_CONTACT_RETENTION_DAYS"],
            "fieldwork_end": fieldwork_end}


@bp.route("/privacy")
@public
def privacy_index():
    """The privacy notices of the open surveys, and the way to erasure."""
    session = db.session()
    notices = []
    for survey in session.exec(select(Survey)).all():
        version = current_version(session, survey.slug)
        if version is not None:
            notices.append((survey, instrument_of(version)))
    return render_template("privacy/index.html", notices=notices)


@bp.route("/privacy/<slug>")
@public
def notice(slug: str):
    """The privacy notice of one survey, as shown before consent."""
    session = db.session()
    survey = session.exec(select(Survey).where(Survey.slug == slug)).first()
    if survey is None:
        abort(404)
    version = current_version(session, slug)
    instrument = instrument_of(version) if version is not None else None
    return render_template("privacy/notice.html", instrument=instrument, **notice_context(survey))

"""The public erasure page: a respondent erases their answers with their resume or erase code."""

from __future__ import annotations

from flask import render_template, request
from flask_wtf import FlaskForm

from web import db
from web.auth import public
from web.i18n import _
from web.limits import limiter, setting
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

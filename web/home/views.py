"""The start page."""

from flask import render_template
from sqlmodel import select

from web import db
from web.auth import public
from web.catalog import current_version, instrument_of
from web.home import bp
from web.models import Survey


@bp.route("/")
@public
def index():
    session = db.session()
    open_surveys = []
    for survey in session.exec(select(Survey).order_by(Survey.slug)).all():
        version = current_version(session, survey.slug)
        if version is not None:
            open_surveys.append(instrument_of(version))
    return render_template("home/index.html", surveys=open_surveys)

"""Survey versions: publish, retire, and upload a new instrument (YAML or XLSForm), checked first."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlmodel import func, select

import surveys
from web import audit, catalog, db
from web.admin import bp, operations
from web.admin.forms import PrivacySettingsForm, UploadForm
from web.admin.views import _checked_post, _get, refuse
from web.auth import role_required
from web.i18n import _, language
from web.models import Response, Survey, SurveyVersion

SUFFIXES = {".yaml", ".yml", ".xlsx", ".xls"}


def _listing(form: UploadForm, problems: list[str] | None = None, status: int = 200):
    session = db.session()
    rows = session.exec(select(SurveyVersion, Survey).join(Survey, Survey.id == SurveyVersion.survey_id)
                        .order_by(Survey.slug, SurveyVersion.version.desc())).all()
    counts = dict(session.exec(select(Response.survey_version_id, func.count())
                               .group_by(Response.survey_version_id)).all())
    return render_template("admin/surveys.html", rows=rows, counts=counts, form=form, problems=problems or [],
                           action=FlaskForm()), status


@bp.route("/surveys")
@role_required()
def survey_versions():
    return _listing(UploadForm())


@bp.route("/surveys/upload", methods=["POST"])
@role_required()
def upload_instrument():
    form = UploadForm()
    if not form.validate_on_submit():
        return _listing(form, [_("The form expired. Please go back, reload the page and try again.")], 400)
    upload = form.instrument.data
    name = getattr(upload, "filename", None) or ""
    suffix = Path(name).suffix.lower()
    if not name or suffix not in SUFFIXES:
        return _listing(form, [_("Choose a .yaml or .xlsx (XLSForm) file.")], 422)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"instrument{suffix}"
        upload.save(str(path))
        try:
            instrument = surveys.load_instrument(path)
        except surveys.InstrumentError as exc:
            return _listing(form, exc.messages(language()), 422)
        except Exception:  # noqa: BLE001 - an unreadable file is the uploader's problem, reported, not a 500
            return _listing(form, [_("This file could not be read as a YAML or XLSForm instrument.")], 422)
    session = db.session()
    before = session.exec(select(func.count()).select_from(SurveyVersion)).one()
    version = catalog.publish(session, instrument)
    created = session.exec(select(func.count()).select_from(SurveyVersion)).one() > before
    audit.record("survey_uploaded", target=f"survey {instrument.slug} v{version.version}",
                 detail={"file": name[:100], "new_version": created})
    if version.published_at is None:
        flash(_("%(slug)s version %(version)s is checked and saved as a draft. Fill in the privacy settings, "
                "then publish it.", slug=instrument.slug, version=version.version))
        return redirect(url_for("admin.survey_settings", survey_id=version.survey_id))
    if created:
        flash(_("%(slug)s version %(version)s is published.", slug=instrument.slug, version=version.version))
    else:
        flash(_("%(slug)s version %(version)s already has exactly this content; nothing changed.",
                slug=instrument.slug, version=version.version))
    return redirect(url_for("admin.survey_versions"))


@bp.route("/surveys/versions/<int:version_id>/publish", methods=["POST"])
@role_required()
def publish_version(version_id: int):
    _checked_post()
    version = _get(SurveyVersion, version_id)
    survey = _get(Survey, version.survey_id)
    if not survey.is_publishable:
        return refuse(_("%(slug)s cannot be published yet: its privacy notice needs the data controller and a "
                        "contact. Fill them in under Privacy settings.", slug=survey.slug))
    operations.publish_version(db.session(), version, survey.slug)
    flash(_("%(slug)s version %(version)s is published.", slug=survey.slug, version=version.version))
    return redirect(url_for("admin.survey_versions"))


@bp.route("/surveys/versions/<int:version_id>/retire", methods=["POST"])
@role_required()
def retire_version(version_id: int):
    _checked_post()
    version = _get(SurveyVersion, version_id)
    survey = _get(Survey, version.survey_id)
    operations.retire_version(db.session(), version, survey.slug)
    flash(_("%(slug)s version %(version)s is retired; new responses go to the newest published version.",
            slug=survey.slug, version=version.version))
    return redirect(url_for("admin.survey_versions"))


@bp.route("/surveys/<int:survey_id>/settings", methods=["GET", "POST"])
@role_required()
def survey_settings(survey_id: int):
    """The survey owner names the data controller and the privacy contact shown in the notice."""
    survey = _get(Survey, survey_id)
    form = PrivacySettingsForm(obj=survey)
    if form.validate_on_submit():
        operations.set_privacy_settings(db.session(), survey, form.controller.data.strip(),
                                        form.privacy_contact.data.strip())
        flash(_("The privacy settings of %(slug)s are saved.", slug=survey.slug))
        return redirect(url_for("admin.survey_versions"))
    return render_template("admin/survey_settings.html", survey=survey, form=form), \
        422 if request.method == "POST" else 200

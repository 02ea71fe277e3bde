"""Surveys and their versions: a two-step upload (check, then review and save as a draft), and each
version's lifecycle (preview, publish with optional dates, close, archive), every step audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from babel import Locale
from flask import Response as Response_
from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlmodel import func, select

import surveys
from surveys import areas
from surveys.questions import kind
from web import audit, catalog, db, lifecycle
from web.admin import bp, operations, uploads
from web.admin.forms import (
    CHOSEN_AREA,
    DEFAULT_AREA,
    NATIONAL_AREA,
    NEW_SURVEY,
    NEW_VERSION,
    AreaSettingsForm,
    PrivacySettingsForm,
    StateForm,
    UploadForm,
    review_form,
)
from web.admin.views import checked_post, get_or_404, refuse
from web.auth import requesting_user, role_required
from web.i18n import _, language, lazy_gettext, local_zone
from web.messages import render
from web.models import PendingUpload, Response, Survey, SurveyVersion
from web.models.surveys import VersionState


def _listing(form: UploadForm, problems: list[str] | None = None, status: int = 200, file: str | None = None):
    session = db.session()
    lifecycle.apply_schedule(session)
    archived = request.args.get("archived") == "1"
    query = select(SurveyVersion, Survey).join(Survey, Survey.id == SurveyVersion.survey_id) \
        .order_by(Survey.slug, SurveyVersion.version.desc())
    if not archived:
        query = query.where(SurveyVersion.status != VersionState.archived.value)
    rows = session.exec(query).all()
    counts = {(version_id, bool(test)): n for version_id, test, n in session.exec(
        select(Response.survey_version_id, Response.is_test, func.count())
        .group_by(Response.survey_version_id, Response.is_test)).all()}
    hidden = session.exec(select(func.count()).select_from(SurveyVersion)
                          .where(SurveyVersion.status == VersionState.archived.value)).one()
    return render_template("admin/surveys.html", rows=rows, counts=counts, form=form, problems=problems or [],
                           problem_file=file, action=FlaskForm(), state_form=StateForm(), archived=archived,
                           hidden=hidden, allowed=lifecycle.ALLOWED, now=dt.datetime.now(dt.UTC)), status


@bp.route("/surveys")
@role_required()
def survey_versions():
    return _listing(UploadForm())


@bp.route("/surveys/upload", methods=["POST"])
@role_required()
def upload_instrument():
    """Step 1: check the file (caps first); a good one waits for the admin's review, nothing is saved."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _listing(form, [_("The form expired. Please go back, reload the page and try again.")], 400)
    upload = form.instrument.data
    name = (getattr(upload, "filename", None) or "")[:200]
    try:
        instrument = uploads.check(upload, form.attachment.data)
    except uploads.NotAnInstrument:
        if not name or not name.lower().endswith(uploads.SUFFIXES):
            return _listing(form, [_("Choose a .yaml or .xlsx (XLSForm) file.")], 422)
        return _listing(form, [_("%(file)s could not be read as a YAML or XLSForm instrument.", file=name)], 422,
                        name)
    except surveys.InstrumentError as exc:
        return _listing(form, [render(p) for p in exc.problems], 422, name)
    pending = uploads.keep(instrument, name, requesting_user().id)
    return redirect(url_for("admin.review_upload", token=pending.token))


def _existing(slug: str) -> Survey | None:
    return db.session().exec(select(Survey).where(Survey.slug == slug)).first()


def _language_names(codes: tuple[str, ...]) -> dict[str, str]:
    names = {}
    for code in codes:
        try:
            names[code] = Locale.parse(code.replace("-", "_")).get_display_name(language()) or code
        except (ValueError, TypeError):
            names[code] = code
    return names


KEPT_APART = {"phone": lazy_gettext("phone number"), "email": lazy_gettext("e-mail address"),
              "geopoint": lazy_gettext("location (kept only with its own consent)")}


def kept_apart(instrument: surveys.Instrument) -> list[dict[str, str]]:
    """The questions whose answers are kept with the contact details, apart from the answers: name, label,
    what they hold, and the constraint that made a text one (an XLSForm ``regex()``), if any."""
    return [{"name": q.name, "label": instrument.text(q.label, language()), "what": str(KEPT_APART.get(q.type, q.type)),
             "constraint": str(q.extra.get("x_contact_from") or "")}
            for q in instrument.variables if kind(q.type).personal]


@bp.route("/surveys/upload/<token>", methods=["GET", "POST"])
@role_required()
def review_upload(token: str):
    """Step 2: the admin confirms or edits the slug and titles, and says whether a file whose name
    matches a survey is its next version; only then is it saved, as a draft."""
    pending = uploads.find(token, requesting_user().id)
    if pending is None:
        return refuse(_("This upload is no longer waiting (it was saved, discarded or is over a day old). "
                        "Please upload the file again."), 404)
    instrument = uploads.instrument_of(pending)
    names = _language_names(instrument.languages)
    defaults = {"slug": instrument.slug, **{f"title_{k}": v for k, v in instrument.title.items()}}
    form = review_form(instrument.languages, names, data=None if request.method == "POST" else defaults)
    if request.method == "POST" and request.form.get("discard"):
        checked_post()
        uploads.drop(pending)
        flash(_("The upload of %(file)s is discarded; nothing was saved.", file=pending.file))
        return redirect(url_for("admin.survey_versions"))
    existing = _existing(form.slug.data or instrument.slug)
    if form.validate_on_submit():
        existing = _existing(form.slug.data)
        if existing is not None and form.target.data != NEW_VERSION:
            message = _("A survey named %(slug)s exists. Choose whether this file is its next version, or give "
                        "this survey another name.", slug=form.slug.data) if form.target.data != NEW_SURVEY else \
                _("The name %(slug)s is taken by another survey: give this one another name.", slug=form.slug.data)
            form.target.errors = [*form.target.errors, message]
        else:
            return _save(pending, instrument, form, existing)
    return render_template("admin/survey_review.html", pending=pending, instrument=instrument, form=form,
                           existing=existing, form_languages=instrument.languages, names=names,
                           next_number=catalog.next_version_number(db.session(), existing) if existing else 1,
                           questions=len(instrument.variables), kept_apart=kept_apart(instrument)), \
        422 if request.method == "POST" else 200


def _save(pending: PendingUpload, instrument: surveys.Instrument, form, existing: Survey | None):
    session = db.session()
    title = {lang: getattr(form, f"title_{lang}").data.strip() for lang in instrument.languages}
    pages = [{**page, "title": title} if page.get("title") == instrument.source.get("title") else page
             for page in instrument.source.get("pages") or []]  # pages named after the form follow its title
    source = {**instrument.source, "slug": form.slug.data, "title": title, "pages": pages}
    try:
        edited = surveys.from_dict(source, pending.file)
    except surveys.InstrumentError as exc:
        return refuse(" ".join(render(p) for p in exc.problems))
    survey = existing or Survey(slug=edited.slug)
    before = session.exec(select(func.count()).select_from(SurveyVersion)).one()
    version = catalog.save_draft(session, survey, edited, pending.file)
    created = session.exec(select(func.count()).select_from(SurveyVersion)).one() > before
    audit.record("survey_uploaded", target=f"survey {survey.slug} v{version.version}",
                 detail={"file": pending.file[:100], "new_version": created, "new_survey": existing is None})
    uploads.drop(pending)
    if not created:
        flash(_("%(slug)s version %(version)s already has exactly this content; nothing changed.",
                slug=survey.slug, version=version.version))
    elif survey.is_publishable:
        flash(_("%(file)s is saved as a draft: %(slug)s version %(version)s. Preview it, then publish it.",
                file=pending.file, slug=survey.slug, version=version.version))
    else:
        flash(_("%(file)s is saved as a draft: %(slug)s version %(version)s. Fill in the privacy settings, "
                "then preview and publish it.", file=pending.file, slug=survey.slug, version=version.version))
        return redirect(url_for("admin.survey_settings", survey_id=survey.id))
    return redirect(url_for("admin.survey_versions"))


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A date and time typed in Hà Nội time, as UTC."""
    return moment.replace(tzinfo=local_zone()).astimezone(dt.UTC) if moment is not None else None


@bp.route("/surveys/versions/<int:version_id>/state", methods=["POST"])
@role_required()
def change_version_state(version_id: int):
    """Move a version along its lifecycle (publish: optionally with dates)."""
    form = StateForm()
    version = get_or_404(SurveyVersion, version_id)
    survey = get_or_404(Survey, version.survey_id)
    if not form.validate_on_submit():
        problems = [e for f in (form.state, form.opens_at, form.closes_at) for e in f.errors]
        return refuse(" ".join(str(p) for p in problems) or _("Please choose one of the options."))
    to = VersionState(form.state.data)
    if not lifecycle.can_move(version, to):
        return refuse(_("%(slug)s version %(version)s cannot go from this state to that one.", slug=survey.slug,
                        version=version.version), 409)
    opens_at, closes_at = _utc(form.opens_at.data), _utc(form.closes_at.data)
    if to is VersionState.open:
        if not survey.is_publishable:
            return refuse(_("%(slug)s cannot be published yet: its privacy notice needs the data controller and "
                            "a contact. Fill them in under Privacy settings.", slug=survey.slug))
        if opens_at and closes_at and closes_at <= opens_at:
            return refuse(_("The closing date must come after the opening date."))
        if closes_at and closes_at <= dt.datetime.now(dt.UTC):
            return refuse(_("The closing date has already passed."))
    operations.change_state(db.session(), version, survey, to, opens_at, closes_at)
    flash(_STATE_MESSAGES[to](survey.slug, version.version))
    return redirect(url_for("admin.survey_versions"))


_STATE_MESSAGES = {
    VersionState.draft: lambda s, v: _("%(slug)s version %(version)s is a draft again.", slug=s, version=v),
    VersionState.preview: lambda s, v: _("%(slug)s version %(version)s can be previewed by staff; their answers "
                                         "are kept as tests.", slug=s, version=v),
    VersionState.open: lambda s, v: _("%(slug)s version %(version)s is published.", slug=s, version=v),
    VersionState.closed: lambda s, v: _("%(slug)s version %(version)s is closed: it takes no new responses.",
                                        slug=s, version=v),
    VersionState.archived: lambda s, v: _("%(slug)s version %(version)s is archived: hidden from lists, its "
                                          "responses kept.", slug=s, version=v),
}


@bp.route("/surveys/<int:survey_id>/settings", methods=["GET", "POST"])
@role_required()
def survey_settings(survey_id: int):
    """The survey owner names the data controller and the privacy contact shown in the notice."""
    survey = get_or_404(Survey, survey_id)
    form = PrivacySettingsForm(obj=survey)
    if form.validate_on_submit():
        operations.set_privacy_settings(db.session(), survey, form.controller.data.strip(),
                                        form.privacy_contact.data.strip())
        flash(_("The privacy settings of %(slug)s are saved.", slug=survey.slug))
        return redirect(url_for("admin.survey_versions"))
    return render_template("admin/survey_settings.html", survey=survey, form=form, area=_area_form(survey)), \
        422 if request.method == "POST" else 200


def _area_form(survey: Survey, formdata=None) -> AreaSettingsForm:
    """The area form, filled from the survey's newest version."""
    newest = _newest(survey)
    covered = catalog.instrument_of(newest).area if newest is not None else ()
    coverage = DEFAULT_AREA if not covered else NATIONAL_AREA if len(covered) == len(areas.provinces()) \
        else CHOSEN_AREA
    return AreaSettingsForm(formdata=formdata, coverage=coverage, provinces=list(covered))


def _newest(survey: Survey) -> SurveyVersion | None:
    return db.session().exec(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)
                             .order_by(SurveyVersion.version.desc())).first()


@bp.route("/surveys/<int:survey_id>/area", methods=["POST"])
@role_required()
def survey_area(survey_id: int):
    """Change the provinces a survey covers. A published version never changes (its answers were checked
    against its list of communes), so the change is a new draft version of the newest one, to publish."""
    survey = get_or_404(Survey, survey_id)
    form, newest = AreaSettingsForm(), _newest(survey)
    if newest is None or not form.validate_on_submit():
        return render_template("admin/survey_settings.html", survey=survey, form=PrivacySettingsForm(obj=survey),
                               area=form), 422
    definition = {k: v for k, v in newest.definition.items() if k not in ("area", "version")}
    if form.setting() is not None:
        definition["area"] = form.setting()
    instrument = surveys.from_dict(_without_question_provinces(definition), f"{survey.slug} (area)")
    version = catalog.save_draft(db.session(), survey, instrument)
    audit.record("survey_area", target=f"survey {survey.slug}", detail={"area": form.setting() or "default",
                                                                       "version": version.version})
    flash(_("The area of %(slug)s is saved in draft version %(version)s: publish it to take effect.",
            slug=survey.slug, version=version.version))
    return redirect(url_for("admin.survey_versions"))


def _without_question_provinces(definition: dict) -> dict:
    """``definition`` with the provinces a former ``area`` setting gave its area questions taken off."""
    pages = [{**page, "questions": [{k: v for k, v in q.items() if k != "provinces"} if isinstance(q, dict)
                                    and q.get("type") == "area" else q for q in page.get("questions", [])]}
             if isinstance(page, dict) else page for page in definition.get("pages", [])]
    return {**definition, "pages": pages}


@bp.route("/surveys/versions/<int:version_id>/tests.csv")
@role_required()
def export_tests(version_id: int):
    """The answers given in staff previews of a version (tests, left out of every other download)."""
    version = get_or_404(SurveyVersion, version_id)
    survey = get_or_404(Survey, version.survey_id)
    rows = db.session().exec(select(Response).where(Response.survey_version_id == version.id,
                                                    Response.is_test == True)  # noqa: E712 - SQL
                             .order_by(Response.id)).all()
    names = sorted({name for r in rows for name in r.answers})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["response_id", "version", "submitted_at", "language", *names])
    for r in rows:
        writer.writerow([r.id, version.version, r.submitted_at.isoformat(), r.language,
                         *(_cell(r.answers.get(name)) for name in names)])
    audit.record("export", target=f"survey {survey.slug} v{version.version}", detail={"tier": "tests",
                                                                                    "rows": len(rows)})
    return Response_(("\ufeff" + out.getvalue()).encode(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{survey.slug}-v{version.version}-tests.csv"'})


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

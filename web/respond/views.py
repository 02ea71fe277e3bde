"""Self-completion views: start, one page at a time, resume, and the personal result."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from importlib import metadata

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie
from flask_wtf import FlaskForm
from sqlmodel import select

import surveys
from surveys import areas
from surveys.questions import kind
from web import area_lists, catalog, db
from web.auth import public, requesting_user, role_required
from web.catalog import current_version, instrument_of
from web.errors import http_message
from web.i18n import _, language
from web.limits import draft_or_address, limiter, setting
from web.models import Response, Role, Survey, SurveyVersion
from web.models.base import utcnow
from web.models.surveys import VersionState
from web.privacy import new_erase_code
from web.privacy.views import notice_context
from web.respond import bp, drafts, result
from web.respond.rules import page_rules
from web.review import record_flags
from web.submissions import insert, paradata

#: the server's version, recorded with each self-completed response (interviews record the app's)
APP_VERSION = metadata.version("khaosat")


def _load(slug: str) -> tuple[SurveyVersion, surveys.Instrument]:
    """The survey's current version and instrument (or the version a staff member previews); a kind
    page when the survey is closed or not open yet, 404 when there is no such public survey."""
    session = db.session()
    version = _previewed(slug) or current_version(session, slug)
    if version is None:
        abort(make_response(_not_open(slug)))
    return version, instrument_of(version)


PREVIEWERS = (Role.admin.value, Role.supervisor.value, Role.researcher.value)


def _previewed(slug: str) -> SurveyVersion | None:
    """The version a staff member opened with its preview link, if any; their answers are tests."""
    user = requesting_user()
    if user is None or user.role not in PREVIEWERS:
        return None
    session = db.session()
    survey = session.exec(select(Survey).where(Survey.slug == slug)).first()
    version_id = cookie.get(f"preview-{survey.id}") if survey is not None else None
    version = session.get(SurveyVersion, version_id) if isinstance(version_id, int) else None
    if version is None or version.survey_id != survey.id:
        return None
    g.previewing = version
    return version


def _not_open(slug: str):
    """The page for a survey that takes no responses now: closed (410), not open yet, or unknown (404)."""
    session = db.session()
    survey = session.exec(select(Survey).where(Survey.slug == slug)).first()
    fielded = catalog.reported_version(session, slug, archived=True) if survey is not None else None
    if fielded is None:
        return render_template("error.html", code=404, message=http_message(404)), 404
    instrument = instrument_of(fielded)
    if fielded.state is VersionState.open and fielded.before_opening(utcnow()):
        return render_template("respond/closed.html", instrument=instrument, opens_at=fielded.opens_at), 404
    return render_template("respond/closed.html", instrument=instrument, opens_at=None), 410


@bp.route("/preview/<int:version_id>")
@role_required(Role.supervisor, Role.researcher)
def preview(version_id: int):
    """A staff preview of a version through the real pages; ``?end=1`` leaves it."""
    session = db.session()
    version = session.get(SurveyVersion, version_id)
    if version is None:
        abort(404)
    survey = session.get(Survey, version.survey_id)
    if request.args.get("end"):
        cookie.pop(f"preview-{survey.id}", None)
        cookie.pop(f"draft-{survey.id}", None)
        return redirect(url_for("admin.survey_versions") if requesting_user().role == Role.admin.value
                        else url_for("home.index"))
    cookie[f"preview-{survey.id}"] = version.id
    cookie.pop(f"draft-{survey.id}", None)  # a fresh walk through the pages
    return redirect(url_for("respond.start", slug=survey.slug))


def _raw_answers(page: surveys.Page) -> dict:
    """The posted answers of ``page``: lists for multiple choices, a grid per item, a repeat as rows."""
    raw: dict = {}
    for q in page.questions:
        if q.type == "grid":
            raw.update({item.name: request.form.get(item.name) for item in q.items})
        elif q.type == "repeat":
            raw[q.name] = _repeat_rows(q)
        else:
            raw[q.name] = kind(q.type).form_value(q, request.form, q.name)
    return raw


def _repeat_rows(q: surveys.Question) -> list[dict]:
    """Rows posted as ``<repeat>.<row>.<field>``; rows left wholly blank are dropped."""
    rows: dict[int, dict] = {}
    for key in request.form:
        head, _sep, rest = key.partition(".")
        index, _sep, name = rest.partition(".")
        if head == q.name and index.isdigit() and int(index) < 50:
            field = next((f for f in q.items if f.name == name), None)
            if field is not None:
                rows.setdefault(int(index), {})[name] = kind(field.type).form_value(field, request.form, key)
    return [row for _i, row in sorted(rows.items()) if any(v not in ("", None, []) for v in row.values())]


def _ward_from_link() -> int | None:
    try:
        code = int(request.args.get("ward", ""))
    except ValueError:
        return None
    return areas.ward_from_link(code, request.args.get("codes"))


@bp.route("/s/<slug>", methods=["GET", "POST"])
@limiter.limit(setting("KHAOSAT_START_LIMIT"), methods=["POST"])
@public
def start(slug: str):
    version, instrument = _load(slug)
    form = FlaskForm()
    session = db.session()
    draft = drafts.current(session, version.survey_id)
    if form.validate_on_submit():
        if draft is None or draft.survey_version_id != version.id:
            draft = drafts.create(session, version, language(), _ward_from_link())
        page = drafts.next_page(instrument, -1, draft.answers) or 0
        return redirect(url_for("respond.page", slug=slug, index=max(page, draft.page_index)))
    return render_template("respond/start.html", instrument=instrument, form=form, draft=draft,
                           **notice_context(session.get(Survey, version.survey_id)))


@bp.route("/s/<slug>/p/<int:index>", methods=["GET", "POST"])
@limiter.limit(setting("KHAOSAT_PAGE_LIMIT"), methods=["POST"], key_func=draft_or_address)
@public
def page(slug: str, index: int):
    version, instrument = _load(slug)
    session = db.session()
    draft = drafts.current(session, version.survey_id)
    if draft is None or draft.survey_version_id != version.id:
        return redirect(url_for("respond.start", slug=slug))
    if not 0 <= index < len(instrument.pages):
        abort(404)
    this_page = instrument.pages[index]
    form = FlaskForm()
    errors: dict = {}
    if form.validate_on_submit():
        saved = _save_page(session, slug, version, instrument, draft, index)
        if not isinstance(saved, tuple):
            return saved
        errors, answers = saved
    else:
        answers = drafts.on_screen(draft, this_page)
        if any(k in (draft.typed or {}) for k in drafts.names_on(this_page)):
            errors = surveys.check(instrument, answers, [this_page], known=draft.answers).errors
    rules = page_rules(this_page, draft.answers)
    rules.adding = request.args.get("add")
    position, total = drafts.progress(instrument, index, answers)
    return render_template(
        "respond/page.html", instrument=instrument, page=this_page, index=index, form=form,
        answers=answers, errors=errors, position=position, total=total, draft=draft,
        wards=area_lists.area_lists(this_page, answers, {**request.args, **request.form}), rules=rules, is_first=drafts.next_page(instrument, index, answers, -1) is None,
    ), 422 if errors and request.method == "POST" else 200


def _save_page(session, slug: str, version: SurveyVersion, instrument: surveys.Instrument, draft, index: int):
    """A posted page into the draft: a redirect onwards (or the finish), or, when answers are wrong,
    ``(errors, answers to show)``; the draft then keeps them as typed, so resuming shows exactly this."""
    this_page = instrument.pages[index]
    raw = _raw_answers(this_page)
    checked = surveys.check(instrument, raw, [this_page], known=draft.answers)
    valid = {k: v for k, v in checked.values.items() if k not in checked.errors}
    typed = {k: raw[k] for k in checked.errors if raw.get(k) not in (None, "", [])}
    moved = _move_unchecked(session, slug, instrument, draft, index, valid, typed)
    if moved is not None:
        return moved
    if checked.ok:
        following = drafts.next_page(instrument, index, {**draft.answers, **checked.values})
        drafts.save(session, draft, this_page, checked.values, index if following is None else following)
        if following is None:
            return _finish(version, instrument, draft)
        return redirect(url_for("respond.page", slug=slug, index=following))
    drafts.save(session, draft, this_page, valid, index, typed)
    return checked.errors, {**draft.answers, **typed}


def _move_unchecked(session, slug: str, instrument: surveys.Instrument, draft, index: int, valid: dict,
                    typed: dict):
    """Adding a row, going back, switching language or text size, or picking another province (without
    JavaScript): no answer is required for that, so what is valid is saved, what is not is kept as typed,
    and the redirect goes there; else None."""
    nav = request.form.get("nav", "next")
    switch_to, text_size = request.form.get("lang"), request.form.get("text")
    moving = nav.startswith("add-") or switch_to or text_size or nav == "back"
    shown = None if moving else area_lists.province_changed(instrument.pages[index], request.form)
    if not moving and shown is None:
        return None
    drafts.save(session, draft, instrument.pages[index], valid, index, typed)
    if nav.startswith("add-"):
        return redirect(url_for("respond.page", slug=slug, index=index, add=nav[4:]))
    if switch_to or text_size:
        return redirect(url_for("respond.page", slug=slug, index=index, lang=switch_to, text=text_size))
    if shown is not None:  # another province picked without JavaScript: its communes are shown
        return redirect(url_for("respond.page", slug=slug, index=index, **shown))
    previous = drafts.next_page(instrument, index, draft.answers, step=-1)
    return redirect(url_for("respond.page", slug=slug, index=index if previous is None else previous))


@bp.route("/areas/<int:province>.json")
@public
def province_areas(province: int):
    """A province's wards and communes in Vietnamese order, for the area question's script (cached a day)."""
    listed = area_lists.province_json(province)
    if listed is None:
        abort(404)
    response = area_lists.compact_json(listed)
    response.cache_control.public, response.cache_control.max_age = True, 86400
    return response


def _finish(version: SurveyVersion, instrument: surveys.Instrument, draft):
    session = db.session()
    checked = surveys.check(instrument, draft.answers)
    if not checked.ok:
        first = next(i for i, p in enumerate(instrument.pages) if any(q.name in checked.errors for q in p.questions))
        flash(_("Some answers are missing. Please check this page."))
        return redirect(url_for("respond.page", slug=instrument.slug, index=first))
    response_uuid = str(uuidlib.uuid4())
    ended_at = utcnow()
    meta = {"resume_code_used": False, "user_agent": request.user_agent.string[:200], "channel": "self",
            "language": language(), "app_version": APP_VERSION, "ended_at": ended_at.isoformat()}
    if draft.started_at is not None:
        meta["started_at"] = _aware(draft.started_at).isoformat()
    outcome = insert(session, version, instrument, response_uuid, checked.values, channel="self",
                     language=language(), meta=paradata(meta, _aware(draft.started_at), ended_at),
                     started_at=draft.started_at, erase_code=new_erase_code(),
                     is_test=g.get("previewing") is not None)
    session.delete(draft)
    session.commit()
    record_flags(session, outcome.response, {version.id: instrument},
                 current_app.config["KHAOSAT_MIN_INTERVIEW_SECONDS"])
    cookie.pop(drafts.slug_key(version), None)
    cookie[f"done-{version.survey_id}"] = response_uuid
    return redirect(url_for("respond.done", slug=instrument.slug))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time as UTC-aware (SQLite gives naive datetimes back)."""
    return moment.replace(tzinfo=dt.UTC) if moment is not None and moment.tzinfo is None else moment


@bp.route("/s/<slug>/done")
@public
def done(slug: str):
    version, _instrument = _load(slug)
    response_uuid = cookie.get(f"done-{version.survey_id}")
    session = db.session()
    response = None
    if response_uuid:
        response = session.exec(select(Response).where(Response.uuid == response_uuid)).first()
    if response is None:
        return redirect(url_for("respond.start", slug=slug))
    instrument = instrument_of(session.get(SurveyVersion, response.survey_version_id))
    ward_name = None
    if response.ward_code is not None:
        ward_name = catalog.ward_names(session, catalog.survey_provinces(session, slug)).get(response.ward_code)
    personal = result.personal_result(instrument, response.scores)
    return render_template("respond/done.html", instrument=instrument, response=response, result=personal,
                           headline_name=result.headline_name(instrument), ward_name=ward_name,
                           officials=result.audience(instrument) == "officials")


@bp.route("/resume", methods=["GET", "POST"])
@limiter.limit(setting("KHAOSAT_CODE_LIMIT"), methods=["POST"])
@public
def resume():
    form = FlaskForm()
    error = None
    if form.validate_on_submit():
        session = db.session()
        draft = drafts.find(session, request.form.get("code", ""))
        if draft is None:
            error = _("This resume code was not found. Please check it and try again.")
        else:
            version = session.get(SurveyVersion, draft.survey_version_id)
            drafts.remember(draft, drafts.slug_key(version))
            slug = instrument_of(version).slug
            return redirect(url_for("respond.page", slug=slug, index=draft.page_index))
    return render_template("respond/resume.html", form=form, error=error), 200 if error is None else 404

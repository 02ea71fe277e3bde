"""Self-completion views: start, one page at a time, resume, and the personal result."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from importlib import metadata

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_wtf import FlaskForm

import surveys
from web import catalog, db
from web.auth import public
from web.catalog import current_version, instrument_of
from web.i18n import _, language
from web.limits import draft_or_address, limiter, setting
from web.models import Response, Survey, SurveyVersion
from web.models.base import utcnow
from web.privacy import new_erase_code
from web.privacy.views import notice_context
from web.respond import bp, drafts, result
from web.respond.rules import page_rules
from web.submissions import paradata, store

#: the server's version, recorded with each self-completed response (interviews record the app's)
APP_VERSION = metadata.version("khaosat")


def _load(slug: str) -> tuple[SurveyVersion, surveys.Instrument]:
    """The survey's current version and instrument; 404 if there is none."""
    version = current_version(db.session(), slug)
    if version is None:
        abort(404)
    return version, instrument_of(version)


def _raw_answers(page: surveys.Page) -> dict:
    """The posted answers of ``page``: lists for multiple choices, a grid per item, a repeat as rows."""
    raw: dict = {}
    for q in page.questions:
        if q.type == "grid":
            raw.update({item.name: request.form.get(item.name) for item in q.items})
        elif q.type == "repeat":
            raw[q.name] = _repeat_rows(q)
        elif q.type == "multiple" or (q.type == "knowledge" and q.extra.get("multiple")):
            raw[q.name] = request.form.getlist(q.name)
        else:
            raw[q.name] = request.form.get(q.name)
    return raw


def _repeat_rows(q: surveys.Question) -> list[dict]:
    """Rows posted as ``<repeat>.<row>.<field>``; rows left wholly blank are dropped."""
    rows: dict[int, dict] = {}
    for key in request.form:
        head, _sep, rest = key.partition(".")
        index, _sep, name = rest.partition(".")
        if head == q.name and index.isdigit() and int(index) < 50:
            multi = any(f.name == name and f.type == "multiple" for f in q.items)
            rows.setdefault(int(index), {})[name] = request.form.getlist(key) if multi else request.form.get(key)
    return [row for _i, row in sorted(rows.items()) if any(v not in ("", None, []) for v in row.values())]


def _ward_from_link() -> int | None:
    try:
        code = int(request.args.get("ward", ""))
    except ValueError:
        return None
    from surveys import areas

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
        raw = _raw_answers(this_page)
        checked = surveys.check(instrument, raw, [this_page], known=draft.answers)
        valid = {k: v for k, v in checked.values.items() if k not in checked.errors}
        typed = {k: raw[k] for k in checked.errors if raw.get(k) not in (None, "", [])}
        nav = request.form.get("nav", "next")
        switch_to = request.form.get("lang")
        text_size = request.form.get("text")
        if nav.startswith("add-"):
            drafts.save(session, draft, this_page, valid, index, typed)
            return redirect(url_for("respond.page", slug=slug, index=index, add=nav[4:]))
        if switch_to or text_size or nav == "back":
            drafts.save(session, draft, this_page, valid, index, typed)
            if switch_to or text_size:
                return redirect(url_for("respond.page", slug=slug, index=index, lang=switch_to, text=text_size))
            previous = drafts.next_page(instrument, index, draft.answers, step=-1)
            return redirect(url_for("respond.page", slug=slug, index=index if previous is None else previous))
        if checked.ok:
            following = drafts.next_page(instrument, index, {**draft.answers, **checked.values})
            drafts.save(session, draft, this_page, checked.values, index if following is None else following)
            if following is None:
                return _finish(version, instrument, draft)
            return redirect(url_for("respond.page", slug=slug, index=following))
        # kept as typed (a draft, not a response), so leaving now and resuming shows exactly this
        drafts.save(session, draft, this_page, valid, index, typed)
        errors = checked.errors
        answers = {**draft.answers, **typed}
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
        wards=_wards(instrument), rules=rules, is_first=drafts.next_page(instrument, index, answers, -1) is None,
    ), 422 if errors and request.method == "POST" else 200


def _wards(instrument: surveys.Instrument) -> dict[int, list]:
    from surveys import areas, collation

    provinces = {int(q.extra.get("province", areas.HANOI)) for q in instrument.questions if q.type == "area"}
    return {code: sorted(areas.wards(code), key=lambda w: collation.ward_key(w.name, w.division_type))
            for code in provinces}


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
    outcome = store(session, version, instrument, response_uuid, checked.values, channel="self",
                    language=language(), meta=paradata(meta, _aware(draft.started_at), ended_at),
                    started_at=draft.started_at)
    outcome.response.erase_code = new_erase_code()
    session.add(outcome.response)
    session.delete(draft)
    session.commit()
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
        from sqlmodel import select

        response = session.exec(select(Response).where(Response.uuid == response_uuid)).first()
    if response is None:
        return redirect(url_for("respond.start", slug=slug))
    instrument = instrument_of(session.get(SurveyVersion, response.survey_version_id))
    ward_name = None
    if response.ward_code is not None:
        ward_name = catalog.ward_names(session, current_app.config["KHAOSAT_PROVINCE"]).get(response.ward_code)
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

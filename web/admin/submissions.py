"""The submissions table (admins, and supervisors for their wards): filter, sort and page every stored
response; open one with its questions and answers in the page's language; review it (status and
note), correct an answer (history kept, checked and scored again), and approve or reject a filtered
selection at once after a confirmation. Works with JavaScript off."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlmodel import func, select

import surveys
from surveys import collation
from surveys.questions import kind
from web import db, review
from web.admin import bp, listing
from web.admin.fieldwork import FLAG_LABELS, scope_wards
from web.admin.views import checked_post, province_wards
from web.auth import requesting_user, role_required
from web.catalog import instrument_of
from web.i18n import _, language, lazy_gettext, local_zone
from web.messages import render
from web.models import Response, ReviewStatus, Role, Survey, SurveyVersion, User, WardAssignment
from web.quality import Flag

STATUS_LABELS = {
    ReviewStatus.not_reviewed: lazy_gettext("Not reviewed"),
    ReviewStatus.approved: lazy_gettext("Approved"),
    ReviewStatus.on_hold: lazy_gettext("On hold"),
    ReviewStatus.rejected: lazy_gettext("Rejected"),
}
CHANNEL_LABELS = {"interview": lazy_gettext("Interview"), "self": lazy_gettext("Self-completion")}
FILTER_LABELS = {
    "survey_id": lazy_gettext("Survey"), "version": lazy_gettext("Version"), "ward": lazy_gettext("Ward or commune"),
    "volunteer": lazy_gettext("Volunteer"), "channel": lazy_gettext("Channel"), "since": lazy_gettext("From"),
    "until": lazy_gettext("To"), "flag": lazy_gettext("Quality flag"), "status": lazy_gettext("Review status"),
    "q": lazy_gettext("Response id"), "sort": lazy_gettext("Sort"), "page": lazy_gettext("Page"),
}
SORT_LABELS = {"newest": lazy_gettext("Newest first"), "oldest": lazy_gettext("Oldest first"),
               "id": lazy_gettext("Id, ascending"), "-id": lazy_gettext("Id, descending"),
               "ward": lazy_gettext("Ward code, ascending"), "-ward": lazy_gettext("Ward code, descending")}
BULK = {"approve": ReviewStatus.approved, "reject": ReviewStatus.rejected}


def _refuse(message: str, status: int = 422):
    return render_template("error.html", code=status, message=message), status


def _filters() -> listing.Filters:
    try:
        return listing.read(request.args if request.method == "GET" else request.form, set(Flag))
    except listing.BadFilter as exc:
        abort(make_response(_refuse(_("This filter's value is not offered: %(field)s.", field=FILTER_LABELS[exc.field]))))


def _volunteers(scope: set[int] | None) -> list[User]:
    query = select(User).where(User.role == Role.volunteer.value)
    if scope is not None:
        query = query.where(User.id.in_(select(WardAssignment.user_id)
                                        .where(WardAssignment.ward_code.in_(sorted(scope) or [-1]))))
    return collation.sorted_by(db.session().exec(query).all(), lambda u: u.username)


def _in_scope(response_id: int) -> Response:
    """The response, or 404 when it does not exist or lies outside the user's wards."""
    response = db.session().get(Response, response_id)
    scope = scope_wards()
    if response is None or (scope is not None and response.ward_code not in scope):
        abort(404)
    return response


@bp.route("/submissions")
@role_required(Role.supervisor)
def submissions():
    session = db.session()
    filters = _filters()
    scope = scope_wards()
    result = listing.page(session, filters, scope, local_zone())
    wards = province_wards()
    offered_wards = {c: n for c, n in wards.items() if scope is None or c in scope}
    versions = {v.id: v for v in session.exec(select(SurveyVersion))}
    all_surveys = _survey_titles(session, versions)
    titles = {s.id: title for s, title in all_surveys}
    ids = [r.id for r in result.rows]
    flags: dict[int, list[str]] = {}
    for rid, flag in session.exec(select(review.ResponseFlag.response_id, review.ResponseFlag.flag)
                                  .where(review.ResponseFlag.response_id.in_(ids or [-1]))):
        flags.setdefault(rid, []).append(flag)
    usernames = dict(session.exec(select(User.id, User.username)).all())
    numbers = sorted({v.version for v in versions.values()})
    return render_template("admin/submissions.html", page=result, filters=filters, surveys=all_surveys,
                           numbers=numbers, wards=offered_wards, all_wards=wards, versions=versions, titles=titles,
                           volunteers=_volunteers(scope), flags=flags, usernames=usernames,
                           flag_labels=FLAG_LABELS, status_labels=STATUS_LABELS, channel_labels=CHANNEL_LABELS,
                           sort_labels=SORT_LABELS, scope=scope, action=FlaskForm(),
                           ticked=set(ids) if request.args.get("tick") == "all" else set())


def _survey_titles(session, versions: dict[int, SurveyVersion]) -> list[tuple[Survey, str]]:
    """Every survey with its title in the page's language (its newest version's), in title order."""
    newest: dict[int, SurveyVersion] = {}
    for version in versions.values():
        if version.version > getattr(newest.get(version.survey_id), "version", 0):
            newest[version.survey_id] = version
    out = []
    for survey in session.exec(select(Survey)).all():
        instrument = instrument_of(newest[survey.id]) if survey.id in newest else None
        out.append((survey, instrument.text(instrument.title, language()) if instrument else survey.slug))
    return collation.sorted_by(out, lambda pair: pair[1])


def _choices(q: surveys.Question, parent: surveys.Question | None) -> tuple:
    return q.choices or (parent.choices if parent is not None else ())


def _parents(instrument: surveys.Instrument) -> dict[str, surveys.Question]:
    return {item.name: q for q in instrument.questions for item in q.items if q.type == "grid"}


def _shown(instrument: surveys.Instrument, q: surveys.Question, value: Any, lang: str,
           wards: dict[int, str], parent: surveys.Question | None) -> str:
    """An answer as a person reads it: choice labels in ``lang``, a ward's name, else the value."""
    if value is None or value == "" or value == []:
        return "–"
    choices = {c.code: instrument.text(c.label, lang) for c in _choices(q, parent)}
    if kind(q.type).ward_code and isinstance(value, int):
        return wards.get(value, str(value))
    if isinstance(value, list):
        return "; ".join(choices.get(str(v), str(v)) if not isinstance(v, dict) else
                         ", ".join(f"{k}: {x}" for k, x in v.items()) for v in value)
    return choices.get(str(value), str(value))


def answer_rows(instrument: surveys.Instrument, answers: dict[str, Any], lang: str,
                wards: dict[int, str]) -> list[dict[str, Any]]:
    """Every question that takes an answer, in form order: name, label, the answer as read, editable."""
    parents = _parents(instrument)
    rows = []
    for q in instrument.variables:
        if not kind(q.type).takes_answer and q.type != "calculate":
            continue
        parent = parents.get(q.name)
        label = instrument.text(q.label, lang)
        if parent is not None:
            label = f"{instrument.text(parent.label, lang)} — {label}"
        rows.append({"name": q.name, "label": label, "code": answers.get(q.name),
                     "shown": _shown(instrument, q, answers.get(q.name), lang, wards, parent),
                     "editable": (kind(q.type).editable or parent is not None) and q.type != "calculate"})
    return rows


def _context(response: Response) -> dict[str, Any]:
    session = db.session()
    version = session.get(SurveyVersion, response.survey_version_id)
    survey = session.get(Survey, version.survey_id)
    instrument = instrument_of(version)
    wards = province_wards()
    names = dict(session.exec(select(User.id, User.username)).all())
    parents = _parents(instrument)

    def read(name: str, value: Any) -> str:
        try:
            question = instrument.question(name)
        except KeyError:  # a question of another version
            return "–" if value is None else str(value)
        return _shown(instrument, question, value, language(), wards, parents.get(name))

    history = [{"edit": e, "before": read(e.question, e.old_value), "after": read(e.question, e.new_value)}
               for e in review.history(session, response.id)]
    return {"response": response, "version": version, "survey": survey, "instrument": instrument,
            "rows": answer_rows(instrument, response.answers, language(), wards), "wards": wards,
            "flags": review.flags_of(session, response.id), "history": history,
            "usernames": names, "flag_labels": FLAG_LABELS, "status_labels": STATUS_LABELS,
            "channel_labels": CHANNEL_LABELS, "action": FlaskForm(),
            "is_admin": requesting_user().role == Role.admin.value}


@bp.route("/submissions/<int:response_id>")
@role_required(Role.supervisor)
def submission(response_id: int):
    return render_template("admin/submission.html", **_context(_in_scope(response_id)))


@bp.route("/submissions/<int:response_id>/review", methods=["POST"])
@role_required(Role.supervisor)
def review_submission(response_id: int):
    checked_post()
    response = _in_scope(response_id)
    status = request.form.get("status", "")
    if status not in set(ReviewStatus):
        return _refuse(_("Please choose one of the options."))
    review.set_status(db.session(), [response.id], ReviewStatus(status), request.form.get("note"), requesting_user())
    flash(_("Response %(id)s: %(status)s.", id=response_id, status=STATUS_LABELS[ReviewStatus(status)]))
    return redirect(url_for("admin.submission", response_id=response_id))


def _editable_question(instrument: surveys.Instrument, rows: list[dict], name: str | None):
    names = {r["name"] for r in rows if r["editable"]}
    if not name:
        return None
    if name not in names:
        abort(make_response(_refuse(_("This question cannot be corrected here."))))
    question = instrument.question(name)
    parent = _parents(instrument).get(name)
    return replace(question, choices=_choices(question, parent)) if parent is not None else question


def _posted(question: surveys.Question | None) -> Any:
    """The new answer on the edit form, as the question's type reads a form: trimmed text, or the codes ticked."""
    raw = kind(question.type).form_value(question, request.form, "value") if question is not None else None
    if isinstance(raw, list):
        return [v.strip() for v in raw if v.strip()]
    return (raw or "").strip()


@bp.route("/submissions/<int:response_id>/edit", methods=["GET", "POST"])
@role_required(Role.supervisor)
def edit_submission(response_id: int):
    response = _in_scope(response_id)
    context = _context(response)
    name = request.values.get("question")
    question = _editable_question(context["instrument"], context["rows"], name)
    errors: list[str] = []
    if request.method == "POST":
        checked_post()
        reason = (request.form.get("reason") or "").strip()
        raw = _posted(question)
        if question is None:
            errors.append(_("Please choose the question to correct."))
        elif not reason:
            errors.append(_("Please say why the answer is corrected."))
        else:
            changed, problems = review.correct(db.session(), response, context["instrument"], question.name, raw,
                                               reason, requesting_user())
            errors += [render(m) for m in problems.values()]
            if not problems:
                flash(_("Response %(id)s is corrected (%(count)s answers changed).", id=response_id,
                        count=len(changed)) if changed else _("Nothing changed: the answer was already this."))
                return redirect(url_for("admin.submission", response_id=response_id))
    return render_template("admin/submission_edit.html", question=question, errors=errors,
                           question_type=kind(question.type) if question is not None else None,
                           current=response.answers.get(name) if name else None, **context), 422 if errors else 200


def _ticked() -> list[int] | None:
    """The response ids ticked in the table (None: the whole filtered selection was asked for)."""
    values = request.form.getlist("ids")
    if request.form.get("selection") != "ticked":
        return None
    if not values:
        abort(make_response(_refuse(_("Please tick at least one response in the table."))))
    if len(values) > listing.PAGE_SIZE or not all(v.isdigit() and int(v) < 2**31 for v in values):
        abort(make_response(_refuse(_("Please choose one of the options."))))
    return sorted({int(v) for v in values})


@bp.route("/submissions/bulk", methods=["POST"])
@role_required(Role.supervisor)
def bulk_review():
    """Approve or reject the ticked rows, or every response the filters select when none is ticked: first a
    page that says how many, then the change. Ticked rows outside the filters or the user's wards are left."""
    checked_post()
    filters = _filters()
    action = request.form.get("bulk")
    if action not in BULK:
        return _refuse(_("Please choose one of the options."))
    session = db.session()
    chosen = listing.selection(session, filters, scope_wards(), local_zone())
    ticked = _ticked()
    if ticked is not None:
        chosen = chosen.where(Response.id.in_(ticked))
    count = session.exec(select(func.count()).select_from(chosen.subquery())).one()
    if request.form.get("confirm") != "yes":
        return render_template("admin/bulk_confirm.html", action=action, count=count, filters=filters,
                               ticked=ticked, status_labels=STATUS_LABELS, status=BULK[action], form=FlaskForm())
    done = review.set_status(session, chosen, BULK[action], request.form.get("note"), requesting_user(),
                             detail={"filters": filters.args(page=1), **({"ticked": ticked} if ticked else {})})
    flash(_("%(count)s responses: %(status)s.", count=done, status=STATUS_LABELS[BULK[action]]))
    return redirect(url_for("admin.submissions", **(filters.args() if ticked else filters.args(page=1))))

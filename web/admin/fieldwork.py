"""The fieldwork dashboard (responses per ward against the quota, per volunteer, per day) and the
quality review. Supervisors see and review only the wards assigned to them; admins see every ward."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlmodel import func, select

from surveys import collation
from web import area_codes, db, sampling
from web.admin import bp, operations
from web.admin.views import checked_post, get_or_404, province_wards
from web.auth import requesting_user, role_required
from web.catalog import instrument_of
from web.i18n import _, lazy_gettext, local_zone
from web.models import (
    Response,
    ResponseFlag,
    Role,
    SampleDraw,
    Survey,
    SurveyVersion,
    User,
    WardAssignment,
    WardQuota,
)
from web.quality import Flag, Flagged, flag_responses

DAYS_SHOWN = 14
REVIEW_WINDOW = 2000  #: quality flags are computed over the newest responses in scope
FLAG_LABELS = {
    Flag.too_fast: lazy_gettext("Too fast"),
    Flag.straight_lined: lazy_gettext("Same answer to every item"),
    Flag.duplicate: lazy_gettext("Identical to another response by the same volunteer"),
    Flag.kept_after_conflict: lazy_gettext("Sent again with different content; the volunteer kept both"),
    Flag.duration_mismatch: lazy_gettext("Claimed duration disagrees with its times or with the syncs"),
    Flag.impossible_times: lazy_gettext("Impossible times: ended before it began or after it was received, or "
                                        "began over a year before"),
    Flag.overlap: lazy_gettext("Overlaps another interview by the same volunteer"),
    Flag.outside_assignment: lazy_gettext("Interview in a ward not assigned to the volunteer"),
}


def scope_wards() -> set[int] | None:
    """The wards the requesting user may see: None for every ward (admins), else their assignments."""
    user = requesting_user()
    if user.role == Role.admin.value:
        return None
    return set(db.session().exec(select(WardAssignment.ward_code).where(WardAssignment.user_id == user.id)).all())


def _survey() -> tuple[Survey, list[Survey]]:
    all_surveys = db.session().exec(select(Survey).order_by(Survey.slug)).all()
    if not all_surveys:
        abort(404)
    asked = request.args.get("survey")
    chosen = next((s for s in all_surveys if s.slug == asked), None)
    if asked and chosen is None:
        abort(404)
    return chosen or all_surveys[0], all_surveys


def _in_scope(query, survey: Survey, scope: set[int] | None, include_excluded: bool = False):
    query = query.join(SurveyVersion, SurveyVersion.id == Response.survey_version_id) \
        .where(SurveyVersion.survey_id == survey.id, Response.is_test == False)  # noqa: E712 - SQL, no previews
    if not include_excluded:
        query = query.where(Response.is_excluded == False)  # noqa: E712 - SQL expression
    if scope is not None:
        query = query.where(Response.ward_code.in_(scope or {-1}))
    return query


@bp.route("/fieldwork")
@role_required(Role.supervisor)
def fieldwork():
    session = db.session()
    area_codes.require_current_fieldwork(session.connection())
    survey, all_surveys = _survey()
    scope = scope_wards()
    per_ward = dict(session.exec(_in_scope(select(Response.ward_code, func.count()), survey, scope)
                                 .group_by(Response.ward_code)).all())
    quotas = {q.ward_code: q.target for q in session.exec(select(WardQuota).where(WardQuota.survey_id == survey.id))
              if scope is None or q.ward_code in scope}
    names = province_wards()
    ward_rows = [{"code": code, "name": names.get(code, str(code)) if code is not None else None,
                  "count": per_ward.get(code, 0), "target": quotas.get(code)}
                 for code in sorted(set(per_ward) | set(quotas),
                                    key=lambda c: (c is None, collation.sort_key(names.get(c, ""))))]
    per_volunteer = session.exec(
        _in_scope(select(User.username, func.count(), func.max(Response.submitted_at)), survey, scope)
        .join(User, User.id == Response.volunteer_id).group_by(User.username).order_by(func.count().desc())).all()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS_SHOWN)
    times = session.exec(_in_scope(select(Response.submitted_at), survey, scope)
                         .where(Response.submitted_at >= since)).all()
    per_day: dict[dt.date, int] = {}
    for moment in times:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        day = moment.astimezone(local_zone()).date()
        per_day[day] = per_day.get(day, 0) + 1
    excluded = session.exec(_in_scope(select(func.count()).select_from(Response), survey, scope, True)
                            .where(Response.is_excluded == True)).one()  # noqa: E712
    return render_template("admin/fieldwork.html", survey=survey, surveys=all_surveys, ward_rows=ward_rows,
                           per_volunteer=per_volunteer, per_day=sorted(per_day.items(), reverse=True),
                           excluded=excluded, scope=scope, ward_names=names, outcomes=_outcomes(survey, scope),
                           names=dict(session.exec(select(User.id, User.username)).all()))


def _outcomes(survey: Survey, scope: set[int] | None) -> list:
    """Each sample draw of ``survey`` with its AAPOR rates by ward and by volunteer, within ``scope``."""
    session = db.session()
    draws = session.exec(select(SampleDraw).where(SampleDraw.survey_id == survey.id).order_by(SampleDraw.id.desc()))
    return [(d, sampling.in_name_order(sampling.outcome_rates(session, d.id, wards=scope), province_wards()),
             sampling.outcome_rates(session, d.id, "volunteer_id", wards=scope)) for d in draws]


@bp.route("/quality")
@role_required(Role.supervisor)
def quality():
    session = db.session()
    survey, all_surveys = _survey()
    scope = scope_wards()
    responses = session.exec(_in_scope(select(Response), survey, scope, include_excluded=True)
                             .order_by(Response.submitted_at.desc()).limit(REVIEW_WINDOW)).all()
    versions = {v.id: v for v in session.exec(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id))}
    instruments = {vid: instrument_of(v) for vid, v in versions.items()}
    min_seconds = current_app.config["KHAOSAT_MIN_INTERVIEW_SECONDS"]
    flagged = with_stored_flags(session, responses, flag_responses(responses, instruments, min_seconds))
    usernames = dict(session.exec(select(User.id, User.username)).all())
    return render_template("admin/quality.html", survey=survey, surveys=all_surveys, flagged=flagged,
                           labels=FLAG_LABELS, usernames=usernames, names=province_wards(), min_seconds=min_seconds,
                           action=FlaskForm())


def with_stored_flags(session, responses: list[Response], flagged: list[Flagged]) -> list[Flagged]:
    """``flagged`` with the flags stored when the responses arrived (such as "outside assignment"), newest first."""
    by_id = {f.response.id: f for f in flagged}
    known = {r.id: r for r in responses}
    for rid, flag in session.exec(select(ResponseFlag.response_id, ResponseFlag.flag)
                                  .where(ResponseFlag.response_id.in_(list(known) or [-1]))):
        item = by_id.setdefault(rid, Flagged(known[rid]))
        if flag in set(Flag) and Flag(flag) not in item.flags:
            item.flags.append(Flag(flag))
    return sorted(by_id.values(), key=lambda f: (f.response.submitted_at, f.response.id), reverse=True)


@bp.route("/quality/<int:response_id>", methods=["POST"])
@role_required(Role.supervisor)
def review_response(response_id: int):
    checked_post()
    response = get_or_404(Response, response_id)
    scope = scope_wards()
    if scope is not None and response.ward_code not in scope:
        abort(403)
    decision = request.form.get("decision")
    if decision not in ("exclude", "include"):
        abort(400)
    operations.set_excluded(db.session(), response, decision == "exclude",
                            reason=",".join(sorted(set(request.form.getlist("flag")) & set(Flag)))[:200] or None)
    version = db.session().get(SurveyVersion, response.survey_version_id)
    survey = db.session().get(Survey, version.survey_id)
    flash(_("Response %(id)s is excluded from analysis.", id=response_id) if decision == "exclude"
          else _("Response %(id)s is included in analysis again.", id=response_id))
    return redirect(url_for("admin.quality", survey=survey.slug))

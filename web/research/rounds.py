"""Rounds (waves) of a survey and the change between two of them (``/research/<slug>/rounds``).

Admins add a round (number, label, first and last day), change its label and dates, or delete it; a
response belongs to the round whose dates hold the day it was submitted (Hà Nội time), so rounds may not
overlap. A round that holds responses is not deleted: a field manager deleting a round means "this round
was a mistake", and its responses would silently drop out of every result by round and every change
between rounds; the page says so and offers to change its dates instead (which moves responses between
rounds openly). Every change is in the audit log with the values before and after. Results by round are the results page with the group "round";
this page shows the change of an indicator between two rounds, overall and by ward or group, with the
standard error of the difference (:func:`analysis.rounds.round_change`: the covariance of rounds that
revisit the same residential groups is counted), and flags the questions whose versions differ between
the rounds (names, types or answer codes), whose change cannot be read as a change in the population.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlmodel import func, select
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length

from analysis.errors import DesignError
from analysis.rollup import RESPONDENTS
from analysis.rounds import comparable_versions, round_change
from surveys.questions import kind
from web import audit, db
from web.admin.forms import WholeNumber
from web.auth import requesting_user, role_required
from web.catalog import instrument_of
from web.i18n import _, format_day, format_decimal, language, lazy_gettext, ngettext
from web.models import Response, Role, Survey, SurveyRound, SurveyVersion
from web.research import bp, database_results, in_database, query, variables
from web.research.weighting import round_bounds


class RoundForm(FlaskForm):
    number = WholeNumber(lazy_gettext("Round number"), validators=[InputRequired()])
    label = StringField(lazy_gettext("Label (e.g. 2026, fourth quarter)"), validators=[Length(max=100)])
    starts_on = DateField(lazy_gettext("First day"), validators=[InputRequired(message=lazy_gettext("Enter a date."))])
    ends_on = DateField(lazy_gettext("Last day"), validators=[InputRequired(message=lazy_gettext("Enter a date."))])


class DeleteForm(FlaskForm):
    """Only the CSRF token: deleting is one button."""


class EditRoundForm(FlaskForm):
    label = StringField(lazy_gettext("Label (e.g. 2026, fourth quarter)"), validators=[Length(max=100)])
    starts_on = DateField(lazy_gettext("First day"), validators=[InputRequired(message=lazy_gettext("Enter a date."))])
    ends_on = DateField(lazy_gettext("Last day"), validators=[InputRequired(message=lazy_gettext("Enter a date."))])


def _in_round(r: SurveyRound):
    """The condition "a response of the round's survey submitted in its local days" (for a query's where)."""
    _number, start, end = round_bounds([r])[0]
    return (SurveyVersion.survey_id == r.survey_id) & (Response.submitted_at >= start) & (Response.submitted_at < end)


def responses_in(session, r: SurveyRound) -> int:
    """How many responses fall in round ``r``'s dates."""
    return session.exec(select(func.count(Response.id)).join(
        SurveyVersion, SurveyVersion.id == Response.survey_version_id).where(
        _in_round(r))).one()


def overlapping(session, survey_id: int, starts_on: dt.date, ends_on: dt.date, other_than: int | None = None
                ) -> SurveyRound | None:
    """A round of the survey (other than ``other_than``) whose dates share a day with these."""
    query = select(SurveyRound).where(SurveyRound.survey_id == survey_id, SurveyRound.starts_on <= ends_on,
                                      SurveyRound.ends_on >= starts_on)
    if other_than is not None:
        query = query.where(SurveyRound.id != other_than)
    return session.exec(query.order_by(SurveyRound.number)).first()


def _versions_by_round(session, survey: Survey, rounds: list[SurveyRound]) -> dict[int, dict[str, dict]]:
    """For each round, the questions of the versions its responses answered: name -> type and codes."""
    out: dict[int, dict[str, dict]] = {}
    for r in rounds:
        ids = set(session.exec(select(Response.survey_version_id).join(
            SurveyVersion, SurveyVersion.id == Response.survey_version_id).where(
            _in_round(r))).all())
        questions: dict[str, dict] = {}
        for version in session.exec(select(SurveyVersion).where(SurveyVersion.id.in_(ids))).all():
            for q in instrument_of(version).questions:
                if kind(q.type).takes_answer:
                    questions[q.name] = {"type": q.type, "codes": [c.code for c in (q.choices or [])]}
        out[r.number] = questions
    return out


@bp.route("/<slug>/rounds", methods=["GET", "POST"])
@role_required(Role.researcher)
def rounds_page(slug: str):
    session = db.session()
    survey = session.exec(select(Survey).where(Survey.slug == slug)).first()
    q = database_results.read_or_404(slug, {k: v for k, v in request.args.items() if k in ("indicator", "by")})
    q.offered = [i for i in q.offered if not i.categorical]  # a change is of a mean or a share
    form = RoundForm()

    user = requesting_user()
    if request.method == "POST" and user is not None and user.role == Role.admin \
            and _dates_fit(session, survey.id, form) and _add_round(session, survey, form):
        return redirect(url_for("research.rounds_page", slug=slug))
    rounds = list(session.exec(select(SurveyRound).where(SurveyRound.survey_id == survey.id)
                               .order_by(SurveyRound.number)).all())
    first, second = request.args.get("first", ""), request.args.get("second", "")
    change, problem, flags = None, None, {}
    if q.indicator is not None and first and second and first != second \
            and (q.figures is not None or q.data.design is not None):
        change, problem = _change(q, first, second)
        by_round = _versions_by_round(session, survey, [r for r in rounds if str(r.number) in (first, second)])
        if len(by_round) == 2 and all(by_round.values()):  # a round no one answered yet has no versions to compare
            flags = comparable_versions(by_round[int(first)], by_round[int(second)])
    if change is not None and q.by:
        change["cell"] = change[q.by].map(lambda v: variables.value_label(q.instrument, q.by, v, language()))
    return render_template("research/rounds.html", q=q, instrument=q.instrument, rounds=rounds, form=form,
                           first=first, second=second, change=change, problem=problem, flags=flags,
                           group_names=variables.GROUP_NAMES, held={r.id: responses_in(session, r) for r in rounds},
                           compared_by=[g for g in q.groups if g != "round" and (
                               q.figures is None or q.figures.covering(["round", g]) is not None)])


def _change(q: query.Query, first: str, second: str):
    """The change of the query's indicator between rounds ``first`` and ``second`` (by its group), from the design in
    memory or, over the in-memory limit, from the roll-up by round (its groups standing for their respondents: the
    same means and linearisation); else None and why not, in the reader's language."""
    if q.indicator.categorical:
        return None, _("Choose a share or a score: the change of a distribution is read level by level on the "
                       "results page by round.")
    if q.figures is None:
        if "round" not in q.data.frame:
            return None, _("No response falls in these rounds.")
        design, counted = q.data.design, None
    else:
        served = q.figures.covering(["round", q.by])
        if served is None and q.figures.covering(["round"]) is None:
            return None, _("No response falls in these rounds.")
        if served is None:
            return None, _("At this size rounds are not compared by %(group)s: choose no group, sex or age band.",
                           group=str(variables.GROUP_NAMES[q.by]).lower())
        design, counted = in_database.groups_design(served, q.indicator.name), RESPONDENTS
    try:
        return round_change(design, q.indicator.name, "round", first, second, by=q.by or None,
                            respondents=counted), None
    except (DesignError, KeyError, ValueError):
        return None, _("These rounds have no responses to compare.")


def _dates_fit(session, survey_id: int, form, round_id: int | None = None) -> bool:
    """The form is valid, its last day is not before its first, and no other round shares a day with it
    (a response belongs to one round); the field says what is wrong otherwise."""
    if not form.validate_on_submit():
        return False
    if form.ends_on.data < form.starts_on.data:
        form.ends_on.errors = [_("The last day must not be before the first day.")]
        return False
    other = overlapping(session, survey_id, form.starts_on.data, form.ends_on.data, round_id)
    if other is not None:
        form.starts_on.errors = [_("These dates overlap round %(number)s (%(first)s to %(last)s): a response "
                                   "belongs to one round.", number=other.number, first=format_day(other.starts_on),
                                   last=format_day(other.ends_on))]
        return False
    return True


def _add_round(session, survey: Survey, form: RoundForm) -> bool:
    session.add(SurveyRound(survey_id=survey.id, number=form.number.data, label=form.label.data or "",
                            starts_on=form.starts_on.data, ends_on=form.ends_on.data))
    audit.record("round_added", target=f"survey {survey.slug}", session=session, commit=False,
                 detail={"number": form.number.data, "label": form.label.data or "",
                         "starts_on": form.starts_on.data.isoformat(), "ends_on": form.ends_on.data.isoformat()})
    try:
        session.commit()
    except Exception:  # the same number twice: the unique constraint says so
        session.rollback()
        flash(_("Round %(number)s already exists.", number=form.number.data))
    return True


def _round_or_404(session, slug: str, round_id: int) -> tuple[Survey, SurveyRound]:
    survey = session.exec(select(Survey).where(Survey.slug == slug)).first()
    found = session.get(SurveyRound, round_id) if 0 < round_id < 2**31 else None
    if survey is None or found is None or found.survey_id != survey.id:
        abort(404)
    return survey, found


def _described(r: SurveyRound) -> dict:
    return {"label": r.label, "starts_on": r.starts_on.isoformat(), "ends_on": r.ends_on.isoformat()}


@bp.route("/<slug>/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@role_required(Role.admin)
def edit_round(slug: str, round_id: int):
    """Change a round's label and dates (its number stays: links and comparisons name it)."""
    session = db.session()
    survey, found = _round_or_404(session, slug, round_id)
    form = EditRoundForm(obj=found)
    if request.method == "POST" and _dates_fit(session, survey.id, form, found.id):
        before = _described(found)
        found.label, found.starts_on, found.ends_on = form.label.data or "", form.starts_on.data, form.ends_on.data
        session.add(found)
        audit.record("round_edited", target=f"survey {slug}", session=session, commit=False,
                     detail={"number": found.number, "before": before, "after": _described(found)})
        session.commit()
        flash(_("Round %(number)s saved; it now holds %(count)s responses.", number=found.number,
                count=format_decimal(responses_in(session, found))))
        return redirect(url_for("research.rounds_page", slug=slug))
    return render_template("research/round_edit.html", instrument=query.load_instrument(slug), round=found,
                           form=form, held=responses_in(session, found))


@bp.route("/<slug>/rounds/<int:round_id>/delete", methods=["POST"])
@role_required(Role.admin)
def delete_round(slug: str, round_id: int):
    """Delete a round that holds no response; one that does is refused (see the module docstring)."""
    session = db.session()
    _survey, found = _round_or_404(session, slug, round_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    held = responses_in(session, found)
    if held:
        flash(ngettext("Round %(number)s was not deleted: %(num)s response submitted between %(first)s and %(last)s "
                       "belongs to it, and would drop out of every result by round. Change its dates instead.",
                       "Round %(number)s was not deleted: %(num)s responses submitted between %(first)s and %(last)s "
                       "belong to it, and would drop out of every result by round. Change its dates instead.",
                       held, number=found.number, first=format_day(found.starts_on), last=format_day(found.ends_on)),
              "error")
        return redirect(url_for("research.rounds_page", slug=slug))
    audit.record("round_deleted", target=f"survey {slug}", session=session, commit=False,
                 detail={"number": found.number, **_described(found)})
    session.delete(found)
    session.commit()
    flash(_("Round %(number)s deleted.", number=found.number))
    return redirect(url_for("research.rounds_page", slug=slug))

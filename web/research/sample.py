"""The sample page of a survey (admins): plan the sample size, write the quotas, draw, follow the outcomes.

Planner (:func:`analysis.sampling.plan_allocation`) over the wards that have a frame: each ward's
households from the frame, its share of people 60+ from the census margins and its share of ethnic
minorities from the ward covariates (when uploaded). The plan shows residential groups and households
per ward with the expected 95% half-width; "Write quotas" stores the interviews wanted per ward
(:class:`web.models.WardQuota`); "Draw" draws that many groups per ward with the recorded seed and deals
the households to the ward's volunteers. Outcome rates (AAPOR RR1-RR6, COOP, CON) by ward and by
volunteer for each draw.
"""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request
from flask_wtf import FlaskForm
from sqlmodel import select
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField
from wtforms.validators import NumberRange as _NumberRange
from wtforms.validators import Optional

from analysis.lazy import numpy as np
from analysis.lazy import pandas as pd
from analysis.results import MIN_N
from analysis.sampling import (
    MAX_HALF_WIDTH,
    SamplingError,
    plan_allocation,
    plan_shortfalls,
    precision_status,
)
from surveys import areas
from web import area_lists, db, sampling
from web.admin.forms import Choice, WholeNumber, options
from web.admin.operations import set_quota
from web.auth import requesting_user, role_required
from web.catalog import survey_provinces
from web.i18n import _, lazy_gettext
from web.models import FrameGroup, PopulationMargin, Role, SampleDraw, Survey, User, WardCovariate
from web.research import bp, exports
from web.research.views import attachment

RANGE = lazy_gettext("Enter a number from %(min)s to %(max)s.")


def NumberRange(low: float, high: float) -> _NumberRange:  # noqa: N802 - a validator, as WTForms names them
    return _NumberRange(low, high, message=RANGE)


class Number(DecimalField):
    """A decimal whose error message is ours (WTForms has no Vietnamese catalog)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(_("Please enter a number.")) from exc


class PlanForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: planning changes nothing

    half_width = Number(lazy_gettext("Half-width wanted, percentage points (95%)"), default=8,
                              validators=[NumberRange(1, 25)])
    group_half_width = Number(lazy_gettext("… for people 60+ and ethnic minorities (optional)"),
                                    validators=[Optional(), NumberRange(1, 40)])
    p = Number(lazy_gettext("Expected share, %"), default=50, validators=[NumberRange(1, 99)])
    cluster_size = WholeNumber(lazy_gettext("Households per residential group"), default=10,
                                validators=[NumberRange(1, 50)])
    icc = Number(lazy_gettext("Intra-cluster correlation (design effect 1 + (m − 1) ρ)"), default=0.05,
                       places=3, validators=[NumberRange(0, 0.5)])
    response_rate = Number(lazy_gettext("Expected response rate, %"), default=70, validators=[NumberRange(5, 100)])
    oversample = Number(lazy_gettext("Chance of choosing a person 60+ in the household, × (oversampling)"),
                              default=1, validators=[NumberRange(1, 5)])
    budget = WholeNumber(lazy_gettext("Budget: households that can be visited in all (optional)"),
                          validators=[Optional(), NumberRange(1, 10**7)])


class DrawForm(FlaskForm):
    seed = WholeNumber(lazy_gettext("Seed (recorded; the same seed draws the same sample)"),
                        validators=[NumberRange(0, 2**62)])
    rule = Choice(lazy_gettext("Choosing the adult in a household"),
                  choices=options([("kish", lazy_gettext("Kish selection (the app picks from the household list)")),
                                   ("last_birthday", lazy_gettext("Last birthday"))]))


def _survey_or_404(slug: str) -> Survey:
    survey = db.session().exec(select(Survey).where(Survey.slug == slug)).first()
    if survey is None:
        abort(404)
    return survey


def _wards(province: int) -> pd.DataFrame:
    """Wards with a frame: households, and the shares 60+ and ethnic minority when known."""
    session = db.session()
    groups = session.exec(select(FrameGroup.ward_code, FrameGroup.households)
                          .where(FrameGroup.province_code == province)).all()
    if not groups:
        return pd.DataFrame()
    wards = pd.DataFrame(groups, columns=["ward_code", "households"]).groupby("ward_code", as_index=False).agg(
        households=("households", "sum"), groups=("households", "size"))
    margins = pd.DataFrame(session.exec(select(PopulationMargin.ward_code, PopulationMargin.age_band,
                                               PopulationMargin.count)
                                        .where(PopulationMargin.province_code == province)).all(),
                           columns=["ward_code", "age_band", "count"])
    if not margins.empty:
        older = margins.assign(old=margins["count"].where(margins["age_band"] == "60+", 0)).groupby("ward_code")
        wards["share_age60"] = wards["ward_code"].map(older["old"].sum() / older["count"].sum()).fillna(0.0)
    minority = dict(session.exec(select(WardCovariate.ward_code, WardCovariate.value)
                                 .where(WardCovariate.name == "share_ethnic_minority")).all())
    if minority:
        wards["share_minority"] = wards["ward_code"].map(minority).fillna(0.0).clip(0, 1)
    return wards


def _plan(form: PlanForm, wards: pd.DataFrame) -> pd.DataFrame:
    return plan_allocation(
        wards, half_width=float(form.half_width.data) / 100, p=float(form.p.data) / 100,
        cluster_size=form.cluster_size.data, icc=float(form.icc.data), response_rate=float(form.response_rate.data) / 100,
        budget=form.budget.data, oversample={"age60": float(form.oversample.data)},
        group_half_width=float(form.group_half_width.data) / 100 if form.group_half_width.data else None)


def _chosen_province(slug: str) -> area_lists.AreaPick:
    """The province whose frame the plan reads: the survey's only one, else the one asked for
    (``?province=``) among the survey's, else the installation's default when covered, else the first."""
    return area_lists.upload_province(survey_provinces(db.session(), slug), request.args.get("province"),
                                      int(current_app.config["KHAOSAT_PROVINCE"]))


def _plan_args() -> MultiDict:
    """The planning form's values (the province is the picker's, not the form's)."""
    return MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "province"])


@bp.route("/<slug>/sample", methods=["GET", "POST"])
@role_required(Role.admin)
def sample_page(slug: str):
    survey = _survey_or_404(slug)
    pick = _chosen_province(slug)
    province = pick.province
    session = db.session()
    form = PlanForm(_plan_args() or None)
    draw_form = DrawForm(seed=int(np.random.SeedSequence().entropy % 10**9))
    wards = _wards(province)
    plan = _plan(form, wards) if not wards.empty and (form.validate() if _plan_args() else True) else None
    if request.method == "POST" and plan is not None:
        done = _act(survey, province, form, draw_form, plan)
        if done:
            return done
    draws = session.exec(select(SampleDraw).where(SampleDraw.survey_id == survey.id)
                         .order_by(SampleDraw.id.desc())).all()
    names = dict(session.exec(select(User.id, User.username)).all())
    ward_names = area_lists.ward_labels(pick.covered)
    outcomes = [(d, sampling.in_name_order(sampling.outcome_rates(session, d.id), ward_names),
                 sampling.outcome_rates(session, d.id, "volunteer_id")) for d in draws]
    shortfalls = plan_shortfalls(plan, wards, form.budget.data) if plan is not None else None
    return render_template("research/sample.html", survey=survey, form=form, draw_form=draw_form, plan=plan,
                           outcomes=outcomes, names=names, ward_names=ward_names, shortfalls=shortfalls,
                           min_n=MIN_N, max_half=MAX_HALF_WIDTH, pick=pick, plan_args=_plan_args().to_dict(),
                           province_name=areas.province_names().get(province, ""),
                           plan_names=area_lists.ward_labels((province,)),
                           too_wide=plan is not None and _any_too_wide(plan))


def _act(survey: Survey, province: int, form: PlanForm, draw_form: DrawForm, plan: pd.DataFrame):
    """The posted action on the plan: write its quotas, or draw its sample; a redirect, or ``None``."""
    session = db.session()
    action = request.form.get("action")
    if action == "quotas":
        for row in plan.itertuples():
            set_quota(session, survey, int(row.ward_code), int(round(row.interviews)))
        flash(_("Quotas written for %(n)d wards.", n=len(plan)))
        return redirect(request.full_path)
    if action == "draw" and draw_form.validate_on_submit():
        user = requesting_user()
        try:
            draw = sampling.draw_sample(session, survey.id, province,
                                        {int(r.ward_code): int(r.clusters) for r in plan.itertuples()},
                                        form.cluster_size.data, draw_form.rule.data, draw_form.seed.data,
                                        {"age60": float(form.oversample.data)}, user.id if user else None)
        except SamplingError as exc:
            session.rollback()
            flash(_("The sample could not be drawn (%(problem)s).", problem=exc.code))
            return redirect(request.full_path)
        assigned = sampling.assign_by_ward(session, draw)
        flash(_("Sample drawn with seed %(seed)d; %(assigned)d households assigned to volunteers.",
                seed=draw.seed, assigned=assigned))
        return redirect(request.full_path)
    return None


def _groups(plan: pd.DataFrame) -> list[str]:
    """The key groups a plan has half-widths for (``age60``, ``minority``)."""
    return [c.removeprefix("interviews_") for c in plan.columns if c.startswith("interviews_")]


def _any_too_wide(plan: pd.DataFrame) -> bool:
    return any((precision_status(plan[f"half_width_{g}"], plan[f"interviews_{g}"]) == "too_wide").any()
               for g in _groups(plan)) or bool((precision_status(plan["half_width"]) == "too_wide").any())


def plan_table(plan: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    """The plan as a file: half-widths in percentage points, empty where they state no precision, with a
    ``*_status`` column saying why ("too_few" interviews, or "too_wide": above 50 points)."""
    out = plan[["ward_code"]].assign(ward=plan["ward_code"].map(lambda c: names.get(int(c), str(c))))
    out = out.join(plan[["households", "clusters", "households_per_cluster", "visits"]])
    out["interviews"] = plan["interviews"].round(1)
    out["deff"] = plan["deff"].round(2)
    for suffix in ["", *[f"_{g}" for g in _groups(plan)]]:
        status = precision_status(plan[f"half_width{suffix}"], plan.get(f"interviews{suffix}") if suffix else None)
        out[f"half_width{suffix}_points"] = (plan[f"half_width{suffix}"] * 100).round(1).where(status == "")
        out[f"half_width{suffix}_status"] = status
        if suffix:
            out[f"interviews{suffix}"] = plan[f"interviews{suffix}"].round(1)
    return out


@bp.route("/<slug>/sample-plan.csv")
@role_required(Role.admin)
def sample_plan_csv(slug: str):
    """The plan the page shows for the same form values, as CSV."""
    _survey_or_404(slug)
    pick = _chosen_province(slug)
    form = PlanForm(_plan_args() or None)
    wards = _wards(pick.province)
    if wards.empty:
        abort(404)
    if _plan_args() and not form.validate():  # the page shows each field's problem; the file says which fields
        problems = "; ".join(f"{field.label.text}: {' '.join(map(str, field.errors))}" for field in form if field.errors)
        return Response(problems, 422, mimetype="text/plain")
    table = plan_table(_plan(form, wards), area_lists.ward_labels((pick.province,)))
    return attachment(exports.table_csv(table), "text/csv; charset=utf-8", f"{slug}-sample-plan-{pick.province}.csv")

"""Admin pages: accounts, tokens, ward assignments and quotas, one response (personal details, erasure),
and the audit log. Admin only; a form that does not validate changes nothing and shows why (422)."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlmodel import select

from surveys import areas as area_data
from surveys import collation
from web import area_lists, audit, db
from web.admin import bp, operations
from web.admin.forms import (
    AssignmentForm,
    FindResponseForm,
    QuotaForm,
    RoleForm,
    TokenForm,
    UserForm,
    options,
)
from web.auth import requesting_user, role_required
from web.catalog import installation_provinces, survey_provinces
from web.i18n import _, format_datetime
from web.models import ApiToken, Response, Role, Survey, SurveyVersion, User, WardAssignment, WardQuota
from web.privacy import erase_response, personal_details_of


def get_or_404(model, object_id: int):
    """The row with this id, or 404."""
    found = db.session().get(model, object_id)
    if found is None:
        abort(404)
    return found


def checked_post() -> None:
    """An action button's POST: its CSRF token must be valid, else 400 and nothing changes."""
    if not FlaskForm().validate_on_submit():
        abort(400)


def refuse(message: str, status: int = 422):
    """An error page for a request that changes nothing."""
    return render_template("error.html", code=status, message=message), status


def province_wards() -> dict[int, str]:
    """Ward code -> label for every commune of the provinces the surveys cover (the province's name added
    where communes of two of them share a name), in Vietnamese order."""
    return area_lists.ward_labels(installation_provinces(db.session()))


def ward_pick(posted: int | None) -> area_lists.AreaPick:
    """The province -> commune choice of the assignment and quota forms (``?province=``, else the posted
    commune's province)."""
    return area_lists.area_pick(installation_provinces(db.session()), request.args.get("province"), posted)


@bp.route("/")
@role_required()
def index():
    return render_template("admin/index.html")


@bp.route("/users", methods=["GET", "POST"])
@role_required()
def users():
    session = db.session()
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        user = operations.create_user(session, form.username.data, form.role.data, form.password.data)
        if user is not None:
            flash(_("Account %(name)s created.", name=user.username))
            return redirect(url_for("admin.users"))
        form.username.errors.append(_("This username is taken."))
    if request.method == "POST":
        status = 422
    people = collation.sorted_by(session.exec(select(User)).all(), lambda u: u.username)
    return render_template("admin/users.html", form=form, people=people, role_form=RoleForm(),
                           action=FlaskForm()), status


def _not_self(user: User) -> None:
    if user.id == requesting_user().id:
        abort(make_response(refuse(_("You cannot change your own account here; ask another administrator."), 409)))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@role_required()
def toggle_user(user_id: int):
    checked_post()
    user = get_or_404(User, user_id)
    _not_self(user)
    operations.set_active(db.session(), user, not user.is_active)
    flash(_("Account %(name)s is active again.", name=user.username) if user.is_active
          else _("Account %(name)s is deactivated.", name=user.username))
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required()
def change_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        return refuse(_("Please choose one of the options."))
    user = get_or_404(User, user_id)
    _not_self(user)
    operations.change_role(db.session(), user, form.role.data)
    flash(_("The role of %(name)s is changed.", name=user.username))
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@role_required()
def reset_password(user_id: int):
    checked_post()
    user = get_or_404(User, user_id)
    password = operations.reset_password(db.session(), user)
    return render_template("admin/secret.html", title=_("New password"), secret=password,
                           explanation=_("The new password of %(name)s. It is shown only once: give it to them "
                                         "in person or by phone.", name=user.username))


@bp.route("/tokens", methods=["GET", "POST"])
@role_required()
def tokens():
    session = db.session()
    people = collation.sorted_by(session.exec(select(User).where(User.is_active)).all(), lambda u: u.username)
    form = TokenForm()
    form.user_id.choices = options((u.id, f"{u.username} ({u.role})") for u in people)
    if form.validate_on_submit():
        user = get_or_404(User, form.user_id.data)
        token = operations.create_token(session, user)
        return render_template("admin/secret.html", title=_("New API token"), secret=token,
                               explanation=_("The API token of %(name)s. It is shown only once and stored only "
                                             "as a hash; copy it into their app now.", name=user.username))
    rows = session.exec(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                        .order_by(ApiToken.created_at.desc())).all()
    return render_template("admin/tokens.html", form=form, rows=rows, action=FlaskForm()), \
        422 if request.method == "POST" else 200


@bp.route("/tokens/<int:token_id>/renew", methods=["POST"])
@role_required()
def renew_token(token_id: int):
    checked_post()
    token = get_or_404(ApiToken, token_id)
    if token.is_revoked or token.session_id is not None:
        return refuse(_("Only a live token made for a script can be renewed."), 409)
    operations.renew(db.session(), token)
    flash(_("The token is renewed until %(date)s.", date=format_datetime(token.expires_at, "short")))
    return redirect(url_for("admin.tokens"))


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@role_required()
def revoke_token(token_id: int):
    checked_post()
    operations.revoke(db.session(), get_or_404(ApiToken, token_id))
    flash(_("The token is revoked; it no longer works."))
    return redirect(url_for("admin.tokens"))


@bp.route("/assignments", methods=["GET", "POST"])
@role_required()
def assignments():
    session = db.session()
    wards = province_wards()
    field_people = collation.sorted_by(
        session.exec(select(User).where(User.role.in_([Role.volunteer.value, Role.supervisor.value,
                                                                 Role.ward_official.value]))).all(),
        lambda u: u.username)
    form = AssignmentForm()
    form.user_id.choices = options((u.id, f"{u.username} ({u.role})") for u in field_people)
    form.ward_code.choices = options(list(wards.items()))
    if form.validate_on_submit():
        user = get_or_404(User, form.user_id.data)
        if operations.assign_ward(session, user, form.ward_code.data):
            flash(_("%(name)s is assigned to %(ward)s.", name=user.username, ward=wards[form.ward_code.data]))
        else:
            flash(_("%(name)s was already assigned to %(ward)s.", name=user.username, ward=wards[form.ward_code.data]))
        return redirect(url_for("admin.assignments"))
    rows = session.exec(select(WardAssignment, User).join(User, User.id == WardAssignment.user_id)).all()
    rows = sorted(rows, key=lambda r: (collation.sort_key(r[1].username), collation.sort_key(wards.get(r[0].ward_code, ""))))
    return render_template("admin/assignments.html", form=form, rows=rows, wards=wards, action=FlaskForm(),
                           pick=ward_pick(form.ward_code.data if request.method == "POST" else None)), \
        422 if request.method == "POST" else 200


@bp.route("/assignments/<int:assignment_id>/delete", methods=["POST"])
@role_required()
def delete_assignment(assignment_id: int):
    checked_post()
    operations.unassign_ward(db.session(), get_or_404(WardAssignment, assignment_id))
    flash(_("The assignment is removed."))
    return redirect(url_for("admin.assignments"))


@bp.route("/quotas", methods=["GET", "POST"])
@role_required()
def quotas():
    session = db.session()
    wards = province_wards()
    survey_list = session.exec(select(Survey).order_by(Survey.slug)).all()
    form = QuotaForm()
    form.survey_id.choices = options((s.id, s.slug) for s in survey_list)
    form.ward_code.choices = options(list(wards.items()))
    if form.validate_on_submit() and _covers(get_or_404(Survey, form.survey_id.data), form):
        survey = get_or_404(Survey, form.survey_id.data)
        operations.set_quota(session, survey, form.ward_code.data, form.target.data)
        flash(_("Quota saved: %(count)s responses from %(ward)s.", count=form.target.data,
                ward=wards[form.ward_code.data]))
        return redirect(url_for("admin.quotas"))
    rows = session.exec(select(WardQuota, Survey).join(Survey, Survey.id == WardQuota.survey_id)
                        .order_by(Survey.slug, WardQuota.ward_code)).all()
    return render_template("admin/quotas.html", form=form, rows=rows, wards=wards,
                           pick=ward_pick(form.ward_code.data if request.method == "POST" else None)), \
        422 if request.method == "POST" else 200


def _covers(survey: Survey, form: QuotaForm) -> bool:
    """Whether the survey covers the quota's commune; if not, the form says so."""
    if area_data.province_of(form.ward_code.data) in survey_provinces(db.session(), survey.slug):
        return True
    form.ward_code.errors = [_("This survey does not cover that commune; choose another survey or commune.")]
    return False


@bp.route("/responses")
@role_required()
def find_response():
    form = FindResponseForm(request.args)
    if "response_id" in request.args:
        if form.validate():
            return redirect(url_for("admin.show_response", response_id=form.response_id.data))
        return render_template("admin/find_response.html", form=form), 422
    return render_template("admin/find_response.html", form=form)


@bp.route("/responses/<int:response_id>")
@role_required()
def show_response(response_id: int):
    session = db.session()
    response = get_or_404(Response, response_id)
    version = session.get(SurveyVersion, response.survey_version_id)
    survey = session.get(Survey, version.survey_id)
    return render_template("admin/response.html", response=response, version=version, survey=survey,
                           details=personal_details_of(session, response_id), wards=province_wards(), action=FlaskForm())


@bp.route("/responses/<int:response_id>/erase", methods=["POST"])
@role_required()
def erase(response_id: int):
    checked_post()
    if request.form.get("confirm") != "yes":
        return refuse(_("Please tick the box to confirm the erasure."))
    erase_response(db.session(), get_or_404(Response, response_id), by="admin")
    flash(_("Response %(id)s is erased, with its personal details.", id=response_id))
    return redirect(url_for("admin.find_response"))


@bp.route("/audit")
@role_required()
def audit_log():
    action = request.args.get("action") or None
    events = audit.recent(db.session(), limit=300, action=action[:40] if action else None)
    return render_template("admin/audit.html", events=events, action=action)

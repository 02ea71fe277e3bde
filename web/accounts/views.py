"""Login and logout views."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlmodel import select

from web import audit, db, sessions
from web.accounts import bp
from web.accounts.forms import LoginForm, PasswordChangeForm
from web.auth import check_no_password, check_password, hash_password, public, requesting_user, role_required
from web.i18n import _
from web.limits import limiter, setting
from web.models import Role, User
from web.models.base import utcnow


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths, so the login page cannot send people elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(setting("KHAOSAT_LOGIN_LIMIT"), methods=["POST"])
@public
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        session = db.session()
        user = session.exec(select(User).where(User.username == form.username.data.strip())).first()
        if user is None:
            check_no_password(form.password.data)
        if user is None or not user.is_active or not check_password(user, form.password.data):
            error = _("Wrong username or password.")
            audit.record("login_failed", actor=None, actor_name=form.username.data.strip()[:64],
                         detail={"known_user": user is not None})
        else:
            user.last_login_at = utcnow()
            session.add(user)
            audit.record("login", actor=user, commit=False)
            session.commit()
            login_user(user)
            sessions.start(session, user)
            return redirect(_safe_next(request.args.get("next")) or url_for(_landing(user.role)))
    elif request.method == "POST":
        error = _("Please enter your username and password.")
    return render_template("accounts/login.html", form=form, error=error), 200 if error is None else 401


def _landing(role: str) -> str:
    """Where each role starts after logging in."""
    return {"admin": "admin.index", "supervisor": "collect.shell", "volunteer": "collect.shell",
            "researcher": "research.index"}.get(role, "home.index")


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """Log out: a POST with the CSRF token (the nav's button), so no link from another site can do it.

    The login ends on the server, with the tokens it issued: a copy of the cookie or of the
    collection app's token no longer works."""
    field_user = None
    if current_user.is_authenticated:
        audit.record("logout", actor=current_user)
        field_user = current_user.id if current_user.role in sessions.FIELD_ROLES else None
    sessions.end_current()
    logout_user()
    flash(_("You are logged out."))
    if field_user is not None:  # this page locks the interview app kept on the phone for them
        return redirect(url_for("collect.signed_out", user=field_user))
    return redirect(url_for("home.index"))


@bp.route("/password", methods=["GET", "POST"])
@role_required(Role.supervisor, Role.volunteer, Role.researcher)
def change_password():
    """Change one's own password: every other login and every token of the person ends."""
    form = PasswordChangeForm()
    user = requesting_user()
    if form.validate_on_submit():
        if not current_user.is_authenticated or not check_password(user, form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            session = db.session()
            user.password_hash = hash_password(form.new.data)
            session.add(user)
            sessions.end_all(session, user)
            audit.record("password_changed", actor=user, commit=False)
            session.commit()
            sessions.start(session, user)  # this browser stays logged in, with a new login
            flash(_("Your password is changed. Every other login and token of yours has ended."))
            return redirect(url_for(_landing(user.role)))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/password.html", form=form), status

"""Who is asking: session login (Flask-Login, checked against the server's record in
:mod:`web.sessions`), API tokens (Bearer), the role checks on routes, and that a form post comes from a
page the app served (Flask-WTF's CSRF token; the API, which takes tokens and no cookies, is exempt).

Every view declares who may use it with :func:`role_required` or :func:`public`; a test walks the
URL map and fails on a route that declares nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, g, has_app_context, redirect, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import bindparam, select
from sqlalchemy.orm import make_transient_to_detached

from web import db, sessions
from web.errors import refuse
from web.i18n import lazy_gettext
from web.models import ApiToken, Role, User, UserSession
from web.models.base import as_loaded, utcnow
from web.models.users import aware

login_manager = LoginManager()
csrf = CSRFProtect()
login_manager.login_view = "accounts.login"
login_manager.login_message = lazy_gettext("Please log in to see this page.")
#: Logins end on the server (:mod:`web.sessions`), so Flask-Login's cookie-side protection adds nothing,
#: and its "basic" mode writes ``_fresh`` into an anonymous visitor's cookie on the first request that
#: reads the user. A request racing a form's post (the browser's favicon fetch beside "Start") then sent
#: back the older cookie and the new draft's resume code was lost.
login_manager.session_protection = None
#: Argon2id with argon2-cffi's default parameters (RFC 9106, low memory: 64 MiB, 3 passes, ~0.1 s)
_hasher = PasswordHasher()
#: an app under test (``TESTING``) hashes with the cheapest parameters: the suite logs in hundreds of times
_test_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


def _password_hasher() -> PasswordHasher:
    return _test_hasher if has_app_context() and current_app.testing else _hasher


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    csrf.init_app(app)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The cookie's user, only while the login it names is live on the server."""
    login = sessions.current()
    if login is None or str(login.user_id) != user_id:
        return None
    user = db.session().get(User, login.user_id)
    return user if user is not None and user.is_active else None


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _password_hasher().verify(user.password_hash, password)  # parameters come from the hash
    except (VerificationError, InvalidHashError):
        return False


_dummy_hashes: dict[int, str] = {}


def check_no_password(password: str) -> None:
    """Spend the time of a password check when there is no such user, so timing does not tell."""
    hasher = _password_hasher()
    if id(hasher) not in _dummy_hashes:
        _dummy_hashes[id(hasher)] = hasher.hash(secrets.token_hex(16))
    dummy = _dummy_hashes[id(hasher)]
    try:
        hasher.verify(dummy, password)
    except (VerificationError, InvalidHashError):
        pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def script_token_lapse() -> dt.datetime:
    """When a token made now for a script lapses, unless renewed."""
    return utcnow() + dt.timedelta(days=current_app.config["KHAOSAT_TOKEN_DAYS"])


def new_token(user: User, login: UserSession | None = None) -> str:
    """Create an API token for ``user``; the token itself is returned once and stored only hashed.

    A token issued to a login (the collection app's) lives exactly as long as that login; any other
    lapses after ``KHAOSAT_TOKEN_DAYS`` unless renewed (:func:`renew_token`).
    """
    token = "ks_" + secrets.token_urlsafe(32)
    session = db.session()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token),
                         session_id=login.id if login else None,
                         expires_at=login.expires_at if login else script_token_lapse()))
    session.commit()
    return token


def renew_token(token: ApiToken) -> None:
    """Give a script's live token another ``KHAOSAT_TOKEN_DAYS`` from now."""
    if token.revoked_at is None and token.session_id is None:
        token.expires_at = script_token_lapse()
        db.session().add(token)
        db.session().commit()


def revoke_token(token: ApiToken) -> None:
    """Stop a token from working (kept, with its revocation time, for the record)."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session().add(token)
        db.session().commit()


def token_user() -> User | None:
    """The active user behind a valid ``Authorization: Bearer`` token, if any."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    session = db.session()
    found = session.connection().execute(_token_statement(), {"token_hash": hash_token(header[7:].strip())}).first()
    if found is None:  # one round trip for the token, its user and the login that issued it: every API request
        return None
    token_id, revoked_at, expires_at, last_used_at, session_id, login_ended, login_expires = found[:7]
    now = utcnow()  # as ApiToken.is_revoked, ApiToken.is_expired and UserSession.is_live say, without the models
    lapsed = revoked_at is not None or expires_at is not None and aware(expires_at) <= now
    login_live = session_id is None or login_ended is None and login_expires is not None and aware(login_expires) > now
    user = _detached_user(found[7:])
    if lapsed or not login_live or not user.is_active:
        return None
    if last_used_at is None or (now - aware(last_used_at)).total_seconds() > 60:
        # to the minute: a write per request would halve submission throughput
        session.connection().execute(_token_used_statement(), {"token_id": token_id, "now": now})
        session.commit()
    return user


def _detached_user(values: tuple) -> User:
    """The token's user from its row, made as the ORM makes the rows it reads but outside the session (a Core
    row costs a third of an ORM load on every API request); ``session.add`` attaches it again as the stored user."""
    user = as_loaded(User, dict(zip(_USER_COLUMNS, values, strict=True)))
    make_transient_to_detached(user)
    return user


_USER_COLUMNS = tuple(column.key for column in User.__table__.columns)


@functools.cache
def _token_statement():
    """A token's state, that of the login that issued it (if any) and its user's row, by the token's hash;
    built once (Core)."""
    tokens, logins, users = ApiToken.__table__, UserSession.__table__, User.__table__
    return (select(tokens.c.id, tokens.c.revoked_at, tokens.c.expires_at, tokens.c.last_used_at, tokens.c.session_id,
                   logins.c.ended_at, logins.c.expires_at, *(users.c[key] for key in _USER_COLUMNS))
            .select_from(tokens.join(users, users.c.id == tokens.c.user_id)
                         .outerjoin(logins, logins.c.id == tokens.c.session_id))
            .where(tokens.c.token_hash == bindparam("token_hash")))


@functools.cache
def _token_used_statement():
    table = ApiToken.__table__
    return table.update().where(table.c.id == bindparam("token_id")).values(last_used_at=bindparam("now"))


def requesting_user() -> User | None:
    """The user making this request: by session cookie, else by Bearer token."""
    if "requesting_user" not in g:
        g.requesting_user = current_user if current_user.is_authenticated else token_user()
    return g.requesting_user


def public(view: Callable) -> Callable:
    """Mark a view as open to anyone, residents included."""
    view.access = "public"
    return view


def role_required(*roles: Role, api: bool = False) -> Callable[[Callable], Callable]:
    """Let in only users with one of ``roles`` (admins always); others get a login page or 403.

    With ``api=True`` an anonymous caller gets a JSON 401 instead of a redirect to the login page.
    """
    allowed = {Role.admin.value, *(r.value for r in roles)}

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = requesting_user()
            if user is None:
                if api or request.headers.get("Authorization"):
                    return refuse(401)
                return redirect(url_for("accounts.login", next=request.full_path))
            if user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.access = tuple(sorted(allowed))
        return wrapped

    return decorate

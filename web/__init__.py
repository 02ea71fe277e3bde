"""The KhaoSat web app: ``create_app()`` builds it (also the WSGI entry for gunicorn).

    gunicorn 'web:create_app()'
"""

from __future__ import annotations

import os
from typing import Any

from flask import (
    Flask,
    abort,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    send_from_directory,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

import web.blas_threads  # noqa: F401 - first of the project's imports: before anything loads NumPy
from analysis import warm_up as estimates_warm_up
from surveys import areas
from web import (
    auth,
    cache,
    config,
    db,
    errors,
    i18n,
    jobs,
    limits,
    messages,
    proxy,
    reading,
    sessions,
    synthetic,
    tables,
)
from web.accounts import bp as accounts_bp
from web.admin import bp as admin_bp
from web.api import bp as api_bp
from web.area_codes import MixedCodeLists
from web.cli import register_commands
from web.collect import bp as collect_bp
from web.home import bp as home_bp
from web.privacy import bp as privacy_bp
from web.research import bp as research_bp
from web.research.charts import warm_up
from web.respond import bp as respond_bp


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.session_interface = sessions.SignedCookies()
    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
        app.config["DATABASE_URL"] = config.normalise_database_url(app.config["DATABASE_URL"])

    db.init_app(app)
    cache.init_app(app)
    tables.watch_changes()
    i18n.init_app(app)
    app.jinja_env.globals["say"] = messages.render
    reading.init_app(app)
    auth.init_app(app)
    limits.init_app(app)
    proxy.init_app(app)
    synthetic.init_app(app)
    jobs.init_app(app)

    for blueprint in (home_bp, accounts_bp, respond_bp, research_bp, api_bp, collect_bp, admin_bp, privacy_bp):
        app.register_blueprint(blueprint)
    auth.csrf.exempt(api_bp)

    _register_error_handlers(app)
    app.before_request(_forms_are_not_json)
    app.before_request(errors.refuse_unstorable_input)
    app.after_request(_security_headers)
    app.add_url_rule("/healthz", "healthz", auth.public(healthz))
    app.add_url_rule("/favicon.ico", "favicon", auth.public(favicon))

    register_commands(app)
    _warm_up_worker()
    return app


def _warm_up_worker() -> None:
    """In a gunicorn worker, draw a chart and make a small estimate before the first request, so that its first chart
    and its first research page are not slow (they loaded matplotlib, pandas and scipy's statistics)."""
    if os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/"):
        warm_up()
        estimates_warm_up()


def favicon():
    """The icon browsers fetch on their own beside a page (a long-cached file, never a 404 page)."""
    return send_from_directory(current_app.static_folder or "", "icon-192.png", mimetype="image/png", max_age=86400)


def healthz():
    """Liveness and database check for load balancers."""
    try:
        db.session().exec(text("SELECT 1"))
        return jsonify(status="ok", db="ok")
    except Exception:  # noqa: BLE001 - any database failure is reported, not raised
        return jsonify(status="error", db="unavailable"), 503


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = i18n._("The form expired. Please go back, reload the page and try again.")
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if errors.wants_json():
            return errors.refuse(error.code or 500)
        message = errors.http_message(error.code)
        return render_template("error.html", code=error.code, message=message), error.code

    @app.errorhandler(MixedCodeLists)
    def mixed_code_lists(error: MixedCodeLists):
        message = i18n._("The stored ward codes belong to two code lists, and a code can name a different ward in "
                         "each. On another list than %(current)s: responses %(responses)s, population margin cells "
                         "%(margins)s, ward assignments %(assignments)s, quotas %(quotas)s. Nothing is shown until "
                         "an administrator runs “khaosat migrate-areas”.", responses=i18n.format_decimal(error.responses),
                         margins=i18n.format_decimal(error.margins), assignments=i18n.format_decimal(error.assignments),
                         quotas=i18n.format_decimal(error.quotas),
                         current=areas.CODE_LIST)
        if errors.wants_json():
            return errors.refuse(409, message)
        return render_template("error.html", code=409, message=message), 409

    @app.errorhandler(OperationalError)
    def database_unreachable(error: OperationalError):
        """The database is down or restarting: 503 and a time to come back, never a 500; the offline app
        keeps the interview and sends it again (only 400, 413 and 422 are final for it)."""
        app.logger.warning("database unreachable: %s", error.orig)
        if errors.wants_json():
            reply, status = errors.refuse(503, errors.DATABASE_DOWN)
        else:
            reply, status = make_response(render_template("error.html", code=503, message=errors.DATABASE_DOWN)), 503
        reply.headers["Retry-After"] = str(errors.RETRY_AFTER_SECONDS)
        return reply, status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("unexpected error")
        if errors.wants_json():
            return errors.refuse(500, errors.SERVER_ERROR)
        return render_template("error.html", code=500, message=errors.SERVER_ERROR), 500


def _forms_are_not_json():
    """Pages take form posts; only the API takes JSON (Flask-WTF would try to read a JSON body as a form)."""
    if (request.method not in ("GET", "HEAD", "OPTIONS") and request.is_json and request.blueprint != "api"
            and request.routing_exception is None):
        abort(415)


#: set on every response unless the view set its own
SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), payment=(), usb=(), geolocation=(self)"),
)


def _security_headers(response):
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}  # one pass, not one per header
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if current_app.config.get("KHAOSAT_HTTPS") or request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # pages and downloads may show answers, passwords or tokens; a province's list of communes is public (but
    # not a refusal, which is never kept)
    if request.endpoint != "static" and (request.endpoint != "respond.province_areas" or response.status_code != 200):
        headers["Cache-Control"] = "no-store"
    return response

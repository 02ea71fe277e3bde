"""The JSON API (v1): instruments for offline clients, submissions, results."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import views  # noqa: E402,F401
from web.limits import limiter, setting, token_or_address  # noqa: E402

limiter.limit(setting("KHAOSAT_TOKEN_LIMIT"), key_func=token_or_address)(bp)

"""Logging in and out."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/accounts", template_folder="templates")

from web.accounts import views  # noqa: E402,F401

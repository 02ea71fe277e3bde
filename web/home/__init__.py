"""The start page: the surveys open to residents."""

from flask import Blueprint

bp = Blueprint("home", __name__, template_folder="templates")

from web.home import views  # noqa: E402,F401

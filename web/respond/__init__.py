"""Residents answering a survey on their own phone: one page per group, no account, resumable."""

from flask import Blueprint

bp = Blueprint("respond", __name__, template_folder="templates")

from web.respond import views  # noqa: E402,F401

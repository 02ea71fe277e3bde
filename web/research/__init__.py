"""Researchers: weighted results by ward and group, the left-behind ranking, weighting, charts and downloads."""

from flask import Blueprint

bp = Blueprint("research", __name__, url_prefix="/research", template_folder="templates")

from web.research import brief, covariates, downloads, ranking, small_area, views  # noqa: E402,F401

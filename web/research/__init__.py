"""Researchers: weighted results by ward and group, the left-behind ranking, weighting, charts and downloads."""

from flask import Blueprint

bp = Blueprint("research", __name__, url_prefix="/research", template_folder="templates")

from web.research import (  # noqa: E402,F401
    brief,
    covariates,
    downloads,
    frames,
    margins_build,
    prepared,
    ranking,
    rounds,
    sample,
    small_area,
    views,
    ward_results,
    weight_cells,
    weighting_jobs,
)

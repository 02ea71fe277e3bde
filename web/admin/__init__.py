"""Administration: accounts and tokens, ward assignments and quotas, survey versions, the fieldwork
dashboard with quality review, erasure and the audit log. Supervisors see fieldwork for their wards."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

from web.admin import fieldwork, submissions, surveys, views  # noqa: E402,F401

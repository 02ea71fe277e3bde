"""Privacy: personal details kept apart from answers, erasure, retention, and small-cell suppression.

Other parts of the app call :func:`store_personal` (interviews that collect contact details),
:func:`suppress` (tables shown outside the admin role) and :func:`erase_response`.
The public ``/erase`` page lets a respondent erase their own answers with their code.
"""

from flask import Blueprint

from web.privacy.operations import (
    erase_by_code,
    erase_response,
    location_from_meta,
    new_erase_code,
    personal_details_of,
    purge_contacts,
    store_personal,
)
from web.privacy.suppression import suppress

bp = Blueprint("privacy", __name__, template_folder="templates")

__all__ = [
    "bp", "erase_by_code", "erase_response", "location_from_meta", "new_erase_code", "personal_details_of",
    "purge_contacts", "store_personal", "suppress",
]

from web.privacy import views  # noqa: E402,F401

"""The database tables, one aggregate a module. Import from here."""

from web.models.areas import Area
from web.models.audit import AuditEvent
from web.models.covariates import WardCovariate
from web.models.fieldwork import WardAssignment, WardQuota
from web.models.margins import PopulationMargin
from web.models.privacy import PersonalDetails
from web.models.responses import Draft, Response
from web.models.surveys import Survey, SurveyVersion
from web.models.users import ApiToken, Role, User, UserSession

__all__ = [
    "ApiToken", "Area", "AuditEvent", "Draft", "PersonalDetails", "PopulationMargin", "Response", "Role",
    "Survey", "SurveyVersion", "User", "UserSession", "WardAssignment", "WardCovariate", "WardQuota",
]

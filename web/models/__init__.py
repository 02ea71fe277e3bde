"""The database tables, one aggregate a module. Import from here."""

from web.models.areas import Area
from web.models.audit import AuditEvent
from web.models.covariates import WardCovariate
from web.models.fieldwork import WardAssignment, WardQuota
from web.models.jobs import Job, JobStatus
from web.models.margins import PopulationMargin, ProvinceMargin
from web.models.privacy import PersonalDetails
from web.models.responses import Draft, Response, ResponseCsv
from web.models.review import ResponseEdit, ResponseFlag, ReviewStatus
from web.models.sampling import FrameGroup, FrameHousehold, SampledHousehold, SampleDraw, SurveyRound, Visit
from web.models.snapshots import WeightCell, WeightSnapshot
from web.models.surveys import PendingUpload, Survey, SurveyVersion
from web.models.users import ApiToken, Role, User, UserSession

__all__ = [
    "ApiToken", "Area", "AuditEvent", "Draft", "FrameGroup", "FrameHousehold", "Job", "JobStatus", "PendingUpload", "PersonalDetails",
    "PopulationMargin", "ProvinceMargin", "Response", "ResponseCsv", "ResponseEdit", "ResponseFlag", "ReviewStatus", "Role", "SampleDraw",
    "SampledHousehold", "Survey", "SurveyRound", "SurveyVersion",
    "User", "UserSession", "Visit", "WardAssignment", "WardCovariate", "WardQuota",
    "WeightCell", "WeightSnapshot",
]

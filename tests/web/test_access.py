"""Every route declares who may use it, and every route and method keeps to that for every role.

The table below is the declared rule set: a route missing from it, or a view whose ``access``
(set by ``web.auth.public`` / ``role_required``) differs from it, fails the suite. Then each route
and method is requested anonymously and as each role, by session cookie and by Bearer token.
"""

from __future__ import annotations

import pytest
from sqlmodel import select
from werkzeug.routing import AnyConverter

from web import db
from web.auth import revoke_token
from web.models import ApiToken

pytestmark = pytest.mark.slow  # every route and method, by session and by token, for every role

PUBLIC = "public"
ADMIN = ("admin",)
SUPERVISION = ("admin", "supervisor")
RESEARCH = ("admin", "researcher")
FIELD = ("admin", "supervisor", "volunteer")
BRIEFS = ("admin", "researcher", "ward_official")
ROLES = ("admin", "supervisor", "volunteer", "researcher", "ward_official")

#: endpoint -> who may use it (admins are always allowed by role_required)
RULES: dict[str, str | tuple[str, ...]] = {
    "home.index": PUBLIC,
    "healthz": PUBLIC,
    "favicon": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.logout": PUBLIC,
    "accounts.change_password": ("admin", "researcher", "supervisor", "volunteer"),
    "respond.start": PUBLIC,
    "respond.page": PUBLIC,
    "respond.done": PUBLIC,
    "respond.resume": PUBLIC,
    "respond.province_areas": PUBLIC,
    "respond.preview": ("admin", "researcher", "supervisor"),
    "privacy.erase": PUBLIC,
    "privacy.notice": PUBLIC,
    "privacy.privacy_index": PUBLIC,
    "api.get_survey": PUBLIC,
    "api.create_submission": FIELD,
    "api.get_results": RESEARCH,
    "api.openapi": PUBLIC,
    "api.post_visit": FIELD,
    "collect.households": FIELD,
    "collect.area_list": FIELD,
    "research.frames": ADMIN,
    "research.margins_build": ADMIN,
    "research.rounds_page": RESEARCH,
    "research.edit_round": ADMIN,
    "research.delete_round": ADMIN,
    "research.sample_page": ADMIN,
    "research.sample_plan_csv": ADMIN,
    "collect.shell": FIELD,
    "collect.service_worker": PUBLIC,
    "collect.token": FIELD,
    "collect.progress": FIELD,
    "collect.poster": SUPERVISION,
    "collect.import_file": SUPERVISION,
    "collect.manifest": PUBLIC,
    "collect.signed_out": PUBLIC,
    "collect.survey_list": FIELD,
    "collect.unseal": FIELD,
    "research.index": RESEARCH,
    "research.survey_results": RESEARCH,
    "research.export_ward_table": RESEARCH,
    "research.table_download": RESEARCH,
    "research.chart": RESEARCH,
    "research.left_behind_page": RESEARCH,
    "research.left_behind_download": RESEARCH,
    "research.weighting_page": RESEARCH,
    "research.downloads": RESEARCH,
    "research.start_export": RESEARCH,
    "research.job_page": RESEARCH,
    "research.job_status": RESEARCH,
    "research.job_file": RESEARCH,
    "research.cancel_job": RESEARCH,
    "research.my_downloads": RESEARCH,
    "research.export": RESEARCH,
    "research.export_public": RESEARCH,
    "research.export_full": ADMIN,
    "research.disclosure": RESEARCH,
    "research.codebook_page": RESEARCH,
    "research.margins": ADMIN,
    "research.province_margins": ADMIN,
    "research.ward_briefs": BRIEFS,
    "research.ward_brief": BRIEFS,
    "research.margins_template": ADMIN,
    "research.small_area_page": RESEARCH,
    "research.small_area_chart": RESEARCH,
    "research.covariates_upload": ADMIN,
    "research.ward_results_index": SUPERVISION,
    "research.ward_results": SUPERVISION,
    "admin.index": ADMIN,
    "admin.users": ADMIN,
    "admin.toggle_user": ADMIN,
    "admin.change_role": ADMIN,
    "admin.reset_password": ADMIN,
    "admin.tokens": ADMIN,
    "admin.revoke_token": ADMIN,
    "admin.renew_token": ADMIN,
    "admin.assignments": ADMIN,
    "admin.delete_assignment": ADMIN,
    "admin.quotas": ADMIN,
    "admin.find_response": ADMIN,
    "admin.show_response": ADMIN,
    "admin.erase": ADMIN,
    "admin.audit_log": ADMIN,
    "admin.survey_versions": ADMIN,
    "admin.upload_instrument": ADMIN,
    "admin.survey_settings": ADMIN,
    "admin.survey_area": ADMIN,
    "admin.review_upload": ADMIN,
    "admin.change_version_state": ADMIN,
    "admin.export_tests": ADMIN,
    "admin.fieldwork": SUPERVISION,
    "admin.quality": SUPERVISION,
    "admin.review_response": SUPERVISION,
    "admin.submissions": SUPERVISION,
    "admin.submission": SUPERVISION,
    "admin.review_submission": SUPERVISION,
    "admin.edit_submission": SUPERVISION,
    "admin.bulk_review": SUPERVISION,
}
EXEMPT = {"static"}  #: Flask's own static files
ARGUMENTS = {"slug": "digital-skills", "index": 0, "token": "x" * 32}
MISSING_ID = 999_999  #: ids point at nothing, so allowed requests change nothing and get a 404


def routes(app):
    """(endpoint, url, method) for every route and method in the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        values = {name: ARGUMENTS.get(name, MISSING_ID) for name in rule.arguments}
        choices = [{}]
        for name, converter in rule._converters.items():
            if isinstance(converter, AnyConverter):  # every format of a download, e.g. .csv and .xlsx
                choices = [{**c, name: item} for c in choices for item in sorted(converter.items)]
        for choice in choices:
            url = rule.build({**values, **choice}, append_unknown=False)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, url, method))
    return sorted(found, key=lambda r: r[0] == "accounts.logout")  # logging out last


def denied(response) -> bool:
    """The answer of a role check: 403, a redirect to the login page, or a JSON 401."""
    if response.status_code == 403:
        return True
    if response.status_code == 302 and "/accounts/login" in response.headers["Location"]:
        return True
    return response.status_code == 401 and response.is_json


def test_every_route_declares_who_may_use_it(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - EXEMPT
    undeclared = sorted(e for e in endpoints if not hasattr(app.view_functions[e], "access"))
    assert undeclared == [], f"views without @public or @role_required: {undeclared}"
    missing = sorted(endpoints - set(RULES))
    assert missing == [], f"routes missing from the rule table in {__file__}: {missing}"
    assert sorted(set(RULES) - endpoints) == [], "the rule table names routes that no longer exist"
    for endpoint in endpoints:
        assert app.view_functions[endpoint].access == RULES[endpoint], endpoint


def allowed(endpoint: str, role: str | None) -> bool:
    rule = RULES[endpoint]
    return rule == PUBLIC or (role is not None and role in rule)


def check(client, app, role, headers=None):
    problems = []
    for endpoint, url, method in routes(app):
        response = client.open(url, method=method, headers=headers or {})
        if response.status_code >= 500:
            problems.append(f"{role} {method} {url}: {response.status_code}")
        elif allowed(endpoint, role) == denied(response):
            problems.append(f"{role} {method} {url}: {response.status_code} "
                            f"{'denied' if denied(response) else 'let in'}")
    return problems


@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_route_and_method_by_session(app, accounts, role):
    client = app.test_client()
    if role is not None:
        accounts.create(role)
        response = client.post("/accounts/login", data={"username": f"{role}-user", "password": "correct-horse-9"})
        assert response.status_code == 302
    assert check(client, app, role) == []


@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_route_and_method_by_bearer_token(app, accounts, role):
    headers = {"Authorization": f"Bearer {accounts.token(role)}" if role else "Bearer ks_not-a-real-token"}
    assert check(app.test_client(), app, role, headers) == []


def test_a_revoked_or_deactivated_token_is_refused(app, client, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    assert client.get("/api/v1/results/digital-skills", headers=headers).status_code == 200
    with app.app_context():
        token = db.session().exec(select(ApiToken)).one()
        assert token.last_used_at is not None
        revoke_token(token)
    assert client.get("/api/v1/results/digital-skills", headers=headers).status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_a_cookie_and_app_token_replayed_after_logout_are_anonymous_everywhere(app, accounts, role):
    client = app.test_client()
    accounts.create(role)
    assert client.post("/accounts/login", data={"username": f"{role}-user", "password": "correct-horse-9"}).status_code == 302
    cookie = client.get_cookie("session").value
    issued = client.post("/collect/token", headers={"X-KhaoSat-Collect": "1"})
    token = issued.get_json()["token"] if issued.status_code == 200 else "ks_not-a-real-token"
    client.post("/accounts/logout")
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert check(thief, app, None) == []
    assert check(app.test_client(), app, None, {"Authorization": f"Bearer {token}"}) == []

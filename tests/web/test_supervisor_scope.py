"""A supervisor sees and changes only the wards assigned to them, on every page and API route they can
reach; a new route a supervisor can reach fails the first test until its scope is checked here."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.web import test_fieldwork
from tests.web.test_api import submission
from tests.web.test_fieldwork import BA_DINH
from web import db, sampling
from web.models import FrameGroup, Response, SampledHousehold, SurveyVersion, Visit, WardAssignment

field = test_fieldwork.field  #: supervisor "sup" of Hoàn Kiếm; a volunteer's interviews there and in Ba Đình

ELSEWHERE = "Phường Ba Đình"


def _no_other_ward(supervisor, ids, url):
    page = supervisor.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Phường Hoàn Kiếm" in text and ELSEWHERE not in text, url
    assert f'/admin/submissions/{ids["elsewhere"]}"' not in text


def check_fieldwork(app, supervisor, ids):
    _no_other_ward(supervisor, ids, "/admin/fieldwork?lang=en")


def check_quality(app, supervisor, ids):
    page = supervisor.get("/admin/quality?lang=en").get_data(as_text=True)
    assert f"<tr><td>{ids['elsewhere']}</td>" not in page and f"<tr><td>{ids['fast']}</td>" in page


def check_quality_decision(app, supervisor, ids):
    assert supervisor.post(f"/admin/quality/{ids['elsewhere']}", data={"decision": "exclude"}).status_code == 403


def check_table(app, supervisor, ids):
    _no_other_ward(supervisor, ids, "/admin/submissions?lang=en")
    page = supervisor.get(f"/admin/submissions?lang=en&ward={BA_DINH}&q={ids['elsewhere']}").get_data(as_text=True)
    assert "No responses match these filters." in page and ELSEWHERE not in page  # not offered, not listed


def check_one(app, supervisor, ids):
    assert supervisor.get(f"/admin/submissions/{ids['elsewhere']}").status_code == 404
    assert supervisor.get(f"/admin/submissions/{ids['ok']}").status_code == 200


def check_review(app, supervisor, ids):
    assert supervisor.post(f"/admin/submissions/{ids['elsewhere']}/review",
                           data={"status": "rejected"}).status_code == 404


def check_edit(app, supervisor, ids):
    url = f"/admin/submissions/{ids['elsewhere']}/edit?question=birth_year"
    assert supervisor.get(url).status_code == 404
    assert supervisor.post(url, data={"value": "1950", "reason": "x"}).status_code == 404


def check_bulk(app, supervisor, ids):
    page = supervisor.post("/admin/submissions/bulk?lang=en", data={"bulk": "reject"}).get_data(as_text=True)
    assert "5 responses will become" in page  # the 6th is in Ba Đình
    supervisor.post("/admin/submissions/bulk", data={"bulk": "reject", "confirm": "yes"})
    with app.app_context():
        rejected = set(db.session().exec(select(Response.id).where(Response.review_status == "rejected")).all())
    assert ids["elsewhere"] not in rejected and len(rejected) == 5


def check_own_data_only(app, supervisor, ids):
    """The interview app's routes serve the supervisor's own interviews and the survey definitions."""
    today = supervisor.get("/collect/progress").get_json()["today"]
    assert today == []  # the volunteer's interviews are not the supervisor's
    assert supervisor.get("/collect/surveys").status_code == 200
    page = supervisor.get("/collect/?lang=en").get_data(as_text=True)
    assert "volunteer-api" not in page


def check_area_list(app, supervisor, ids):
    """The area list is public geography (provinces, their wards and communes), the same for everyone."""
    provinces = supervisor.get("/collect/areas.json").get_json()["provinces"]
    assert [p[0] for p in provinces] == [1] and len(provinces[0][2]) == 126
    assert all(len(ward) == 2 for ward in provinces[0][2])


def check_submission(app, supervisor, ids):
    """A supervisor's own interview, in any ward, is stored (never lost)."""
    token = supervisor.post("/collect/token", headers={"X-KhaoSat-Collect": "1"}).get_json()["token"]
    body = submission(app, uuid="supervisor-own-0001")
    body["answers"]["ward"] = BA_DINH
    sent = supervisor.post("/api/v1/submissions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert sent.status_code == 201


def check_results(app, supervisor, ids):
    """Estimates by ward for the supervisor's wards only (tests/web/test_supervisor_results.py checks the
    figures against the researchers'); another ward is a 404, the city-wide pages and the API a 403."""
    page = supervisor.get("/research/digital-skills/my-wards?lang=en").get_data(as_text=True)
    assert "Phường Hoàn Kiếm" in page and ELSEWHERE not in page and "Whole city" not in page
    assert supervisor.get(f"/research/digital-skills/my-wards?ward={BA_DINH}").status_code == 404
    assert supervisor.get("/research/my-wards").status_code == 200
    token = supervisor.post("/collect/token", headers={"X-KhaoSat-Collect": "1"}).get_json()["token"]
    assert supervisor.get("/api/v1/results/digital-skills", headers={"Authorization": f"Bearer {token}"}
                          ).status_code == 403


def check_no_personal_data(app, supervisor, ids):
    assert supervisor.get(f"/admin/responses/{ids['ok']}").status_code == 403
    assert supervisor.get("/research/").status_code == 403  # results are not a supervisor's


def check_nothing_to_scope(app, supervisor, ids):
    """Own password; import a volunteer's file (its interviews are kept wherever they are, flagged for
    the supervisor of their ward); a poster for any ward."""


def check_sampled_households(app, supervisor, ids):
    """Households drawn in Ba Đình and assigned to the volunteer: the supervisor of Hoàn Kiếm neither
    lists them in the collect app nor records a visit to one (a person sees only their own households)."""
    with app.app_context():
        session = db.session()
        version = session.get(Response, ids["ok"]).survey_version_id
        survey_id = session.get(SurveyVersion, version).survey_id
        volunteer = session.get(Response, ids["ok"]).volunteer_id
        session.add_all([FrameGroup(province_code=1, ward_code=BA_DINH, group_code=f"TDP {i}", households=40 + i)
                         for i in range(1, 4)] + [WardAssignment(user_id=volunteer, ward_code=BA_DINH)])
        session.commit()
        sampling.assign_by_ward(session, sampling.draw_sample(session, survey_id, 1, {BA_DINH: 1}, 3, seed=7))
        household = session.exec(select(SampledHousehold.id)).first()
    assert household is not None
    assert supervisor.get("/collect/households").get_json()["households"] == []
    visit = supervisor.post("/api/v1/visits", json={"uuid": "scope-visit-1", "household": household, "code": "1.1"})
    assert visit.status_code == 422 and "household" in visit.get_json()["errors"]
    with app.app_context():
        assert db.session().exec(select(Visit)).first() is None


def check_preview(app, supervisor, ids):
    """A preview walks a survey version's pages: it shows no response, so it has no ward to scope; its
    answers are tests that no supervisor page lists (tests/web/test_lifecycle.py)."""
    assert supervisor.get("/preview/999999").status_code == 404


CHECKS = {
    "admin.fieldwork": check_fieldwork,
    "admin.quality": check_quality,
    "admin.review_response": check_quality_decision,
    "admin.submissions": check_table,
    "admin.submission": check_one,
    "admin.review_submission": check_review,
    "admin.edit_submission": check_edit,
    "admin.bulk_review": check_bulk,
    "collect.shell": check_own_data_only,
    "collect.survey_list": check_own_data_only,
    "collect.progress": check_own_data_only,
    "collect.token": check_submission,
    "collect.unseal": check_nothing_to_scope,
    "api.create_submission": check_submission,
    "accounts.change_password": check_nothing_to_scope,
    "collect.import_file": check_nothing_to_scope,
    "collect.poster": check_nothing_to_scope,
    "api.post_visit": check_sampled_households,
    "collect.households": check_sampled_households,
    "collect.area_list": check_area_list,
    "respond.preview": check_preview,
    "research.ward_results_index": check_results,
    "research.ward_results": check_results,
}


def test_every_route_a_supervisor_reaches_has_a_scope_check(app):
    reachable = {rule.endpoint for rule in app.url_map.iter_rules()
                 if "supervisor" in (getattr(app.view_functions[rule.endpoint], "access", ()) or ())
                 and getattr(app.view_functions[rule.endpoint], "access", "") != "public"}
    assert reachable == set(CHECKS)


@pytest.mark.parametrize("check", sorted(set(CHECKS.values()) | {check_no_personal_data}, key=lambda f: f.__name__))
@pytest.mark.both_backends
def test_supervisor_scope(app, field, check):
    ids, supervisor = field
    check(app, supervisor, ids)

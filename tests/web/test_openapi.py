"""The API's request bodies: one pydantic model per body checks it and is its schema in the OpenAPI document.

A body the model refuses gets the API's coded, bilingual refusal (the field it names, the catalogued
message in Vietnamese and English, the status the offline app acts on) and stores nothing.
"""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from tests.web.test_api import count, submission
from web.api.bodies import Submission, Visit


@pytest.fixture
def volunteer(accounts):
    return {"Authorization": f"Bearer {accounts.token('volunteer')}"}


def test_the_document_is_valid_openapi_and_its_bodies_are_the_models(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)  # raises on anything OpenAPI 3.1 does not allow, an unresolved $ref included
    schemas = spec["components"]["schemas"]
    for path, model in (("/api/v1/submissions", Submission), ("/api/v1/visits", Visit)):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model.__name__}"}
        own = model.model_json_schema(ref_template="#/components/schemas/{model}")
        assert schemas[model.__name__]["required"] == own["required"]
        assert set(schemas[model.__name__]["properties"]) == set(own["properties"])
    meta = schemas["Paradata"]
    assert meta["additionalProperties"] is False and meta["properties"]["channel"]["maxLength"] == 16
    assert schemas["Submission"]["properties"]["meta"]["$ref"] == "#/components/schemas/Paradata"
    assert schemas["Submission"]["properties"]["uuid"]["pattern"] == "^[A-Za-z0-9:_-]{8,64}$"
    assert "default" not in meta["properties"]["channel"]  # may be left out, never sent as null


@pytest.mark.parametrize("change,status,field,en,vi", [
    ({"version": "1"}, 422, "survey", "'survey' (a name) and 'version' (a number) are required.",
     "Cần 'survey' (tên) và 'version' (số)."),
    ({"uuid": "short"}, 422, "uuid", "A valid 'uuid' (8 to 64 letters, digits, '-', '_' or ':') is required.",
     "Thiếu 'uuid' hợp lệ (8–64 chữ cái, chữ số, '-', '_' hoặc ':')."),
    ({"meta": {"language": "vi", "note": "x"}}, 422, "meta.note", "This paradata field is not accepted.",
     "Trường dữ liệu quá trình này không được chấp nhận."),
    ({"meta": {"channel": "c" * 17}}, 422, "meta.channel", "This field must be text of at most 16 characters.",
     "Trường này phải là văn bản tối đa 16 ký tự."),
    ({"meta": {"channel": None}}, 422, "meta.channel", "This field must be text of at most 16 characters.",
     "Trường này phải là văn bản tối đa 16 ký tự."),
])
def test_a_body_the_model_refuses_gets_its_coded_message_in_both_languages(client, app, volunteer, change, status,
                                                                           field, en, vi):
    response = client.post("/api/v1/submissions", json=submission(app, **change), headers=volunteer)
    assert response.status_code == status
    assert response.get_json()["errors"][field] == {"vi": vi, "en": en}
    assert count(app) == 0


def test_paradata_problems_come_with_the_answers_problems_after_the_version_is_found(client, app, volunteer):
    body = submission(app, meta={"gps_consent": "yes"})
    body["answers"]["birth_year"] = "nineteen"
    errors = client.post("/api/v1/submissions", json=body, headers=volunteer).get_json()["errors"]
    assert set(errors) == {"birth_year", "meta.gps_consent"}
    assert errors["meta.gps_consent"]["en"] == "This field must be true or false."
    unknown = client.post("/api/v1/submissions", json={**body, "version": 999}, headers=volunteer)
    assert unknown.status_code == 404  # no version: the paradata are not judged yet
    assert count(app) == 0


def test_a_submission_naming_itself_as_its_conflict_is_refused(client, app, volunteer):
    body = submission(app)
    response = client.post("/api/v1/submissions", json={**body, "conflict_of": body["uuid"]}, headers=volunteer)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"conflict_of"}
    assert response.get_json()["uuid"] == body["uuid"]
    assert count(app) == 0

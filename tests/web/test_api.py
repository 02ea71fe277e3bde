"""The JSON API: instruments for offline clients and submissions that are never lost or doubled."""

import threading

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from surveys.questions import kind
from tests.web.helpers import HOAN_KIEM, answer_fields, instrument
from web import db
from web.models import Response

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL


def count(app) -> int:
    with app.app_context():
        return db.session().exec(select(func.count()).select_from(Response)).one()


def valid_answers(app, slug="digital-skills") -> dict:
    inst = instrument(app, slug)
    answers = {}
    for q in inst.questions:
        if kind(q.type).takes_answer:
            answers.update(answer_fields(q))
    answers["birth_year"] = 1958
    answers["ward"] = HOAN_KIEM
    return {k: v for k, v in answers.items() if v is not None}


def submission(app, uuid="7f0b2c9e-1d7a-4a55-9d1e-1a2b3c4d5e6f", **changes) -> dict:
    body = {"uuid": uuid, "survey": "digital-skills", "version": instrument(app).version,
            "answers": valid_answers(app), "meta": {"language": "vi", "started_at": "2026-11-20T08:15:00+07:00"}}
    body.update(changes)
    return body


@pytest.fixture
def volunteer(accounts):
    return {"Authorization": f"Bearer {accounts.token('volunteer')}"}


def test_survey_definition_for_offline_clients(client, app):
    response = client.get("/api/v1/surveys/digital-skills")
    assert response.status_code == 200
    body = response.get_json()
    assert body["slug"] == "digital-skills"
    assert body["version"] == instrument(app).version
    assert client.get("/api/v1/surveys/nothing").status_code == 404


def test_submission_needs_a_token(client, app):
    response = client.post("/api/v1/submissions", json=submission(app))
    assert response.status_code == 401
    response = client.post("/api/v1/submissions", json=submission(app),
                           headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert count(app) == 0


def test_researcher_token_cannot_submit(client, app, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('researcher')}"}
    assert client.post("/api/v1/submissions", json=submission(app), headers=headers).status_code == 403


def test_another_volunteers_uuid_gets_409_without_revealing_whose(client, app, accounts, volunteer):
    first = client.post("/api/v1/submissions", json=submission(app), headers=volunteer)
    assert first.status_code == 201
    changed = submission(app)
    changed["answers"]["birth_year"] = 1990
    own_clash = client.post("/api/v1/submissions", json=changed, headers=volunteer).get_json()
    other = {"Authorization": f"Bearer {accounts.token('supervisor')}"}
    for body in (submission(app), changed):  # the same answers, or others: one reply, saying nothing more
        response = client.post("/api/v1/submissions", json=body, headers=other)
        assert response.status_code == 409
        assert response.get_json() == own_clash and set(own_clash) == {"errors", "uuid"}
    assert count(app) == 1


def test_first_submission_201_retry_200_same_body_one_row(client, app, volunteer):
    first = client.post("/api/v1/submissions", json=submission(app), headers=volunteer)
    assert first.status_code == 201
    again = client.post("/api/v1/submissions", json=submission(app), headers=volunteer)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert count(app) == 1
    with app.app_context():
        stored = db.session().exec(select(Response)).one()
        assert stored.channel == "interview"
        assert stored.ward_code == HOAN_KIEM
        assert stored.started_at.hour == 1  # 08:15 in Hanoi is 01:15 UTC


def test_same_uuid_different_content_is_409_and_keeps_the_first(client, app, volunteer):
    assert client.post("/api/v1/submissions", json=submission(app), headers=volunteer).status_code == 201
    changed = submission(app)
    changed["answers"]["birth_year"] = 1990
    response = client.post("/api/v1/submissions", json=changed, headers=volunteer)
    assert response.status_code == 409
    assert response.get_json()["errors"]["uuid"]["en"].startswith("This 'uuid' was already submitted")
    with app.app_context():
        assert db.session().exec(select(Response)).one().answers["birth_year"] == 1958


def test_invalid_answers_get_422_in_both_languages(client, app, volunteer):
    body = submission(app)
    body["answers"]["birth_year"] = "not a year"
    body["answers"]["sex"] = "9"
    response = client.post("/api/v1/submissions", json=body, headers=volunteer)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["birth_year"] == {"vi": "Hãy nhập một số nguyên.", "en": "Please enter a whole number."}
    assert set(errors["sex"]) >= {"vi", "en"}
    assert count(app) == 0


def test_answers_to_irrelevant_or_unknown_questions_are_dropped(client, app, volunteer):
    body = submission(app)
    body["answers"]["not_a_question"] = "x"
    assert client.post("/api/v1/submissions", json=body, headers=volunteer).status_code == 201
    with app.app_context():
        assert "not_a_question" not in db.session().exec(select(Response)).one().answers


@pytest.mark.parametrize("body", [
    None, [], "text", 42, {}, {"uuid": "short"}, {"uuid": "a" * 100},
    {"uuid": "abcdefgh-1", "survey": "digital-skills", "version": "1", "answers": {}},
    {"uuid": "abcdefgh-1", "survey": "digital-skills", "version": True, "answers": {}},
    {"uuid": "abcdefgh-1", "survey": "digital-skills", "version": 1, "answers": []},
    {"uuid": "abcdefgh-1", "survey": "digital-skills", "version": 1, "answers": {}, "meta": "x"},
    {"uuid": "abcdefgh-1", "survey": ["x"], "version": 1, "answers": {}},
    {"uuid": "abcdefgh-1", "survey": "digital-skills", "version": 10**30, "answers": {}},
])
def test_malformed_bodies_get_a_clear_4xx_and_change_nothing(client, app, volunteer, body):
    response = client.post("/api/v1/submissions", json=body, headers=volunteer)
    assert 400 <= response.status_code < 500
    errors = response.get_json()["errors"]
    assert errors and all(set(message) == {"vi", "en"} for message in errors.values())
    assert count(app) == 0


def test_not_json_at_all(client, app, volunteer):
    response = client.post("/api/v1/submissions", data=b"\xff\xfe garbage", headers=volunteer,
                           content_type="application/json")
    assert response.status_code == 400
    assert count(app) == 0


def test_concurrent_retries_of_one_uuid_store_one_row(app, volunteer):
    body = submission(app, uuid="concurrent-0001")
    statuses = []

    def send():
        statuses.append(app.test_client().post("/api/v1/submissions", json=body, headers=volunteer).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 7 + [201]
    assert count(app) == 1


def test_an_interview_costs_the_database_four_statements(client, app, volunteer):
    """What keeps submissions fast (bench/submissions_load.py): the token with its user and login, the version's
    state, the insert, the arrival flags' read, then the commit; a fifth statement on this path is a round trip
    for every interview of every volunteer, so it fails here with the statements listed."""
    assert client.post("/api/v1/submissions", json=submission(app), headers=volunteer).status_code == 201
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_rest):
        sent.append(" ".join(statement.split())[:90])

    second = submission(app, uuid="0c6a4f4e-2b9d-4a3e-8f1c-5d6e7f8a9b0c")
    second["answers"]["birth_year"] = 1990
    with app.app_context():
        engine = db.engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.post("/api/v1/submissions", json=second, headers=volunteer).status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(sent) == 4, "\n".join(sent)
    assert count(app) == 2

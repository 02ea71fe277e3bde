"""Visits and interviews of sampled households as the offline app sends them: a visit is stored once by its
key however often the phone retries, an interview carries its household, the adults listed and the adult
the rule chose, and the household keeps that adult's probability, from which the base weight comes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import func, select

from analysis.sampling import doorstep_adult
from tests.web.test_api import submission
from tests.web.test_collect_import import seal, upload
from tests.web.test_sample import _survey_id, _volunteer_of_ward_4
from tests.web.test_sample import admin as admin  # noqa: PLC0414 - the fixture, shared
from web import db, sampling
from web.collect import sealed
from web.models import Response, SampledHousehold, User, Visit

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL


@pytest.fixture
def field(admin, app, accounts):
    """A Kish draw oversampling people 60+ in ward 4, assigned to the API volunteer: (client, headers, draw id)."""
    token = _volunteer_of_ward_4(admin, app, accounts)
    with app.app_context():
        session = db.session()
        draw = sampling.draw_sample(session, _survey_id(app), 1, {4: 2}, 3, seed=11, oversample={"age60": 2.0})
        sampling.assign_by_ward(session, draw)
        draw_id = draw.id
    return app.test_client(), {"Authorization": f"Bearer {token}"}, draw_id


def households(client, headers) -> list[dict]:
    return client.get("/collect/households", headers=headers).get_json()["households"]


def visit_count(app) -> int:
    with app.app_context():
        return db.session().exec(select(func.count()).select_from(Visit)).one()


def test_a_visit_sent_again_is_stored_once_and_a_changed_one_is_a_conflict(field, app):
    client, headers, _ = field
    first = households(client, headers)[0]
    body = {"uuid": "3f1c2a9e-visit", "household": first["id"], "code": "2.24",
            "visited_at": "2026-11-26T09:15:00+07:00", "callback_at": "2026-11-27T18:30:00+07:00"}
    sent = client.post("/api/v1/visits", headers=headers, json=body)
    again = client.post("/api/v1/visits", headers=headers, json=body)
    assert (sent.status_code, again.status_code) == (201, 200)
    assert sent.get_json() == again.get_json() and sent.get_json()["uuid"] == body["uuid"]
    assert visit_count(app) == 1
    for changed in ({"code": "2.11"}, {"callback_at": None}, {"visited_at": "2026-11-26T10:15:00+07:00"}):
        reply = client.post("/api/v1/visits", headers=headers, json={**body, **changed})
        assert reply.status_code == 409 and reply.get_json()["uuid"] == body["uuid"]
    assert visit_count(app) == 1
    listed = households(client, headers)[0]
    assert listed["visits"] == 1 and listed["received"] == [body["uuid"]]
    assert listed["callback_at"] == "2026-11-27T11:30:00Z"  # UTC, said so: the phone shows it in Hà Nội time
    assert (listed["rule"], listed["older_factor"], listed["survey"]) == ("kish", 2.0, "digital-skills")


def _adults_and_choice(app, household_id: int, adults: list[dict], on: str | None = None) -> tuple[int, float]:
    with app.app_context():
        session = db.session()
        household = session.get(SampledHousehold, household_id)
        draw = session.get(sampling.SampleDraw, household.draw_id)
        return doorstep_adult(adults, draw.adult_rule, household.adult_draw,
                              dt.date.fromisoformat(on) if on else None, draw.oversample.get("age60"))


def test_an_interview_keeps_the_chosen_adults_probability_and_refuses_another_choice(field, app):
    client, headers, draw_id = field
    first = households(client, headers)[0]
    adults = [{"sex": "2", "age": 34}, {"sex": "1", "age": 71}, {"sex": "1", "age": 40}]
    chosen, probability = _adults_and_choice(app, first["id"], adults)
    wrong = {"id": first["id"], "adults": adults, "selected": (chosen + 1) % 3, "probability": probability}
    refused = client.post("/api/v1/submissions", headers=headers, json=submission(app, household=wrong))
    assert refused.status_code == 422 and "household" in refused.get_json()["errors"]
    named = [{**a, "name": "Lan"} for a in adults]  # a name the phone might send is never stored
    right = {"id": first["id"], "adults": named, "selected": chosen, "probability": probability, "on": "2026-11-26"}
    body = submission(app, household=right)
    sent = client.post("/api/v1/submissions", headers=headers, json=body)
    assert sent.status_code == 201, sent.get_json()
    assert client.post("/api/v1/submissions", headers=headers, json=body).status_code == 200
    with app.app_context():
        session = db.session()
        stored = session.exec(select(Response)).one()
        household = session.get(SampledHousehold, first["id"])
        assert (household.adults, household.adult_probability) == (3, probability)
        assert probability in (2 / 4, 1 / 4)  # the man of 71 counts twice: 2/4, the others 1/4
        assert stored.base_weight == pytest.approx(1 / (household.probability * probability))
        assert "Lan" not in str(stored.answers) + str(stored.meta)
        assert session.exec(select(func.count()).select_from(Visit)).one() == 1  # the interview's visit, once
        assert sampling.outcome_rates(session, draw_id).loc[0, "I"] == 1


def test_last_birthday_is_counted_from_the_day_the_adults_were_listed(admin, app, accounts):
    token = _volunteer_of_ward_4(admin, app, accounts)
    with app.app_context():
        session = db.session()
        sampling.assign_by_ward(session, sampling.draw_sample(session, _survey_id(app), 1, {4: 1}, 2, seed=3,
                                                              adult_rule="last_birthday"))
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    first = households(client, headers)[0]
    assert first["rule"] == "last_birthday" and first["older_factor"] is None
    adults = [{"sex": "1", "age": 50, "birthday": "11-20"}, {"sex": "2", "age": 48, "birthday": "11-25"},
              {"sex": "2", "age": 20, "birthday": "11-27"}]
    assert _adults_and_choice(app, first["id"], adults, "2026-11-26") == (1, 1 / 3)
    assert _adults_and_choice(app, first["id"], adults, "2026-11-28") == (2, 1 / 3)
    stale = {"id": first["id"], "adults": adults, "on": "2026-11-28", "selected": 1, "probability": 1 / 3}
    assert client.post("/api/v1/submissions", headers=headers,
                       json=submission(app, household=stale)).status_code == 422
    for bad in ({"birthday": "02-30"}, {"birthday": "2-3"}, {"sex": "m"}, {"age": True}):
        broken = {"id": first["id"], "adults": [{**adults[0], **bad}], "on": "2026-11-26"}
        assert client.post("/api/v1/submissions", headers=headers,
                           json=submission(app, household=broken)).status_code == 422
    good = {**stale, "on": "2026-11-26"}
    assert client.post("/api/v1/submissions", headers=headers, json=submission(app, household=good)).status_code == 201


def test_visits_made_offline_keep_the_latest_outcome_whatever_order_they_arrive_in(field, app):
    client, headers, _ = field
    one, two = households(client, headers)[:2]

    def visit(key: str, household: int, code: str, at: str):
        reply = client.post("/api/v1/visits", headers=headers,
                            json={"uuid": key, "household": household, "code": code, "visited_at": at})
        assert reply.status_code == 201
        return reply.get_json()["final"]

    assert visit("later-refusal", one["id"], "2.11", "2026-11-26T10:00:00+07:00") == "2.11"
    assert visit("earlier-nobody", one["id"], "2.24", "2026-11-25T10:00:00+07:00") == "2.11"  # older: not final
    interview = {"id": two["id"], "adults": [{"sex": "1", "age": 30}]}
    assert client.post("/api/v1/submissions", headers=headers,
                       json=submission(app, household=interview)).status_code == 201
    assert visit("refusal-before", two["id"], "2.11", "2026-11-19T10:00:00+07:00") == "1.1"  # an interview stays
    listed = {h["id"]: h for h in households(client, headers)}
    assert (listed[one["id"]]["final"], listed[one["id"]]["visits"]) == ("2.11", 2)
    assert listed[two["id"]]["final"] == "1.1" and listed[two["id"]]["received"] == [
        "refusal-before", "7f0b2c9e-1d7a-4a55-9d1e-1a2b3c4d5e6f"]


def test_a_visit_in_a_sealed_file_is_imported_once_under_its_volunteer(field, app, client, accounts):
    api, headers, _ = field
    household = households(api, headers)[0]["id"]
    with app.app_context():
        volunteer = db.session().exec(select(User).where(User.username == "volunteer-api")).one()
        identity = sealed.identity_for(volunteer.id, volunteer.username)
    visit = {"uuid": "sealed-visit-1", "household": household, "code": "4.60", "visited_at": "2026-11-26T08:00:00Z"}
    data = seal(app, [{"uuid": visit["uuid"], "kind": "visit", "status": "queued", "body": visit}], identity)
    accounts.login("supervisor")
    assert '<th scope="row">Stored now</th><td class="num">1</td>' in upload(client, data).get_data(as_text=True)
    assert '<th scope="row">Already on the server</th><td class="num">1</td>' in upload(client, data).get_data(
        as_text=True)
    with app.app_context():
        kept = db.session().exec(select(Visit)).one()
        assert (kept.household_id, kept.code, kept.volunteer_id) == (household, "4.60", volunteer.id)

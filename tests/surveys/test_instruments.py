"""The three built-in instruments: structure, translations, tags, storage round trip, a full walk."""

import json
from collections import Counter

import pytest

from surveys import builtin_instruments, check, from_dict, instrument_to_json, score
from surveys.schema import COMPETENCES
from surveys.scoring_spec import indicator_names

INSTRUMENTS = {i.slug: i for i in builtin_instruments()}
ALL = list(INSTRUMENTS.values())


def test_the_three_slugs():
    assert set(INSTRUMENTS) == {"digital-skills", "service-satisfaction", "officials-digital-competency"}


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.slug)
def test_consent_first_and_a_ward(instrument):
    first = instrument.pages[0].questions
    assert [q.type for q in first] == ["consent"] and first[0].name == "consent" and first[0].required
    ward = instrument.question("ward")
    assert ward.type == "area" and ward.required


def _texts(instrument):
    yield instrument.title
    for page in instrument.pages:
        yield page.title
        for q in page.questions:
            for item in (q, *q.items):
                yield from (t for t in (item.label, item.hint, item.constraint_message) if t)
                yield from (c.label for c in item.choices)


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.slug)
def test_every_text_in_both_languages_and_short_enough_for_a_phone(instrument):
    for text in _texts(instrument):
        assert set(text) == {"vi", "en"} and all(v.strip() for v in text.values())
        assert all(len(v) <= 200 for v in text.values()), text


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.slug)
def test_stored_form_round_trips_through_json(instrument):
    stored = json.loads(json.dumps(instrument.source))
    assert from_dict(stored) == instrument
    json.dumps(instrument_to_json(instrument))


def _areas(instrument, prefixes):
    return Counter(q.competence.split(".")[0] for q in instrument.variables
                   if q.competence and q.name.startswith(prefixes))


def test_digital_skills_content():
    ds = INSTRUMENTS["digital-skills"]
    names = {q.name for q in ds.variables}
    assert {"consent", "ward", "birth_year", "sex", "education", "ethnicity", "occupation", "income",
            "urban_rural", "devices", "internet_3m", "npsp_used", "vneid_level", "cashless", "barriers",
            "team_help"} <= names
    assert {f"wg_{x}" for x in ("seeing", "hearing", "walking", "remembering", "selfcare", "communicating")} <= names
    activities = [q for q in ds.variables if q.name.startswith("act_") and q.competence[0] != "0"]
    assert len(activities) >= 30 and all(q.type == "yesno" for q in activities)
    assert set(_areas(ds, ("act_",))) == {"0", "1", "2", "3", "4", "5"}
    knowledge = [q for q in ds.variables if q.type == "knowledge"]
    assert len(knowledge) >= 10 and all(q.correct and q.competence for q in knowledge)
    assert all(q.competence in COMPETENCES for q in ds.variables if q.competence)


def test_officials_content():
    of = INSTRUMENTS["officials-digital-competency"]
    assert {"level", "role", "use_edocs", "use_one_stop", "use_population_db", "training_needs"} <= {
        q.name for q in of.variables}
    assert len([q for q in of.variables if q.type == "knowledge"]) >= 5


def test_satisfaction_has_the_five_sipas_elements():
    ss = INSTRUMENTS["service-satisfaction"]
    grids = [q for q in ss.questions if q.type == "grid"]
    assert [g.name for g in grids] == ["sip_access", "sip_procedures", "sip_officials", "sip_results", "sip_feedback"]
    assert {tuple(c.code for c in g.choices) for g in grids} == {("1", "2", "3", "4", "5", "na")}
    assert [c.code for c in ss.question("submit_channel").choices] == ["online", "centre", "post"]


def test_indicator_names():
    assert {"dsi_index", "at_least_basic", "used_online_public_service", "vneid_level2_used", "dsi_level"} <= set(
        indicator_names(INSTRUMENTS["digital-skills"]))
    assert "satisfaction_index" in indicator_names(INSTRUMENTS["service-satisfaction"])
    assert "competency_index" in indicator_names(INSTRUMENTS["officials-digital-competency"])


def _walk(instrument, pick):
    """Answer every question of every relevant page in order, like a respondent would."""
    known: dict = {}
    for page in instrument.pages:
        raw = {}
        for q in page.questions:
            for v in q.variables:
                raw[v.name] = pick(v)
        result = check(instrument, raw, pages=[page], known=known)
        assert result.ok, (page.name, result.errors)
        known.update(result.values)
    return known


def _first_answer(q):
    if q.type == "consent":
        return "1"
    if q.type == "area":
        return "70"
    if q.type == "integer":
        return str(int(q.minimum or 0) + 20 if q.name != "visits" else 1)
    if q.type == "text":
        return "Tốt"
    if q.type == "multiple":
        return [q.choices[0].code]
    if q.type == "knowledge":
        return q.correct[0]
    if q.type == "yesno":
        return "1"
    if q.choices:
        return q.choices[-2].code if q.type == "likert" and len(q.choices) > 2 else q.choices[0].code
    return None


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.slug)
def test_a_full_walk_checks_and_scores(instrument):
    values = _walk(instrument, _first_answer)
    scores = score(instrument, values)
    assert set(scores) == set(indicator_names(instrument))
    assert all(v is None or 0 <= v <= 100 for v in scores.values())
    assert check(instrument, values).ok  # the stored answers check again, all at once


def test_digital_skills_walk_reaches_above_basic():
    ds = INSTRUMENTS["digital-skills"]
    values = _walk(ds, _first_answer)
    scores = score(ds, values)
    assert scores["dsi_level"] == 5 and scores["at_least_basic"] == 1 and scores["knowledge_score"] == 100
    assert scores["used_online_public_service"] == 1 and scores["vneid_level2_used"] == 0  # the first VNeID answer is "none"


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.slug)
def test_offline_json_says_how_answers_are_read_as_the_type_names_did(instrument):
    """The collection app reads and checks answers by ``number``/``many``/``ward`` (from the types' traits); a survey
    stored on a phone before those fields came is read by type name (collect.js ``traits``): both must agree."""
    for page in instrument_to_json(instrument)["pages"]:
        for q in page["questions"]:
            by_name = {"number": {"integer": "whole", "decimal": "decimal"}.get(q["type"]),
                       "many": q["type"] == "multiple" or (q["type"] == "knowledge" and q["multiple"]),
                       "ward": q["type"] == "area"}
            assert {key: q[key] for key in by_name} == by_name, q["name"]

"""Question types end to end: each registered type has its page template and its offline widget; the
newer types (time, dateTime) come from an XLSForm, are answered on the page and through the API,
and reach every export."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlmodel import select

from surveys import check, instrument_to_json, score
from surveys import messages as msg
from surveys.loader import from_dict
from surveys.questions import INPUT_TYPES, QUESTION_TYPES, REGISTRY
from surveys.questions.integer import Integer
from surveys.xlsform import import_xlsform
from tests.web.test_lifecycle import review_values
from web import catalog, db
from web.models import PersonalDetails, Response, Survey, SurveyVersion
from web.research import codebook

ROOT = Path(__file__).resolve().parents[2]
FORM = ROOT / "tests/fixtures/xlsforms/khaosat-time_datetime.xlsx"


@pytest.mark.parametrize("name", QUESTION_TYPES)
def test_every_type_has_its_template_and_its_offline_widget(name):
    assert (ROOT / f"web/respond/templates/respond/questions/{name}.html").is_file()
    widgets = re.search(r"var WIDGETS = \{(.*?)\n  \};", (ROOT / "web/static/collect.js").read_text(), re.S)
    assert widgets is not None
    if name in INPUT_TYPES - {"grid", "repeat"}:
        assert re.search(rf"\b{name}: ", widgets.group(1)), name


@pytest.fixture
def timed(app):
    with app.app_context():
        catalog.publish(db.session(), import_xlsform(FORM), controller="Test controller", contact="test@example.org")


def stored(app) -> dict:
    with app.app_context():
        [response] = db.session().exec(select(Response)).all()
        return response.answers


def test_time_and_date_time_are_answered_on_the_page_without_javascript(client, app, timed):
    assert client.post("/s/thoi-gian?lang=en").status_code == 302
    page = client.get("/s/thoi-gian/p/0").get_data(as_text=True)
    assert 'type="time" id="i-visit_time" name="visit_time"' in page
    assert 'type="datetime-local" id="i-visit_at" name="visit_at"' in page
    wrong = client.post("/s/thoi-gian/p/0", data={"ward_pick": "1", "visit_time": "25:10", "visit_at": "tomorrow"})
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    assert "Please enter a time as hours:minutes (24-hour)." in text and "Please enter a date and a time." in text
    done = client.post("/s/thoi-gian/p/0", data={"ward_pick": "1", "visit_time": "10:30", "visit_at": "2026-03-04T08:15"})
    assert done.status_code == 302
    assert stored(app) == {"ward_pick": "1", "visit_time": "10:30", "visit_at": "2026-03-04T08:15"}


def test_the_api_takes_odk_moments_and_keeps_them_in_hanoi_time(client, app, accounts, timed):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    form = client.get("/api/v1/surveys/thoi-gian", headers=headers).get_json()
    assert [q["type"] for q in form["pages"][0]["questions"]] == ["single", "time", "dateTime"]
    body = {"uuid": "0b6f0a52-8f1e-4d0e-9a51-3c2d9f1e0a11", "survey": "thoi-gian", "version": 1,
            "answers": {"ward_pick": "2", "visit_time": "07:05:59", "visit_at": "2026-03-04T01:15:00Z"},
            "meta": {"language": "vi"}}
    bad = client.post("/api/v1/submissions", json={**body, "answers": {**body["answers"], "visit_time": "7h"}},
                      headers=headers)
    assert bad.status_code == 422 and "visit_time" in bad.get_json()["errors"]
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    assert stored(app) == {"ward_pick": "2", "visit_time": "07:05", "visit_at": "2026-03-04T08:15"}


def _read(fmt: str, data: bytes, tmp_path) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    if fmt == "xlsx":
        return pd.read_excel(io.BytesIO(data), sheet_name="data", dtype=str)
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(data)
    return (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path))[0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav", "dta", "parquet"])
def test_times_reach_every_export(client, app, accounts, timed, tmp_path, fmt):
    client.post("/s/thoi-gian")
    client.post("/s/thoi-gian/p/0", data={"ward_pick": "1", "visit_time": "10:30", "visit_at": "2026-03-04T08:15"})
    client.get("/accounts/logout")
    accounts.login("researcher")
    response = client.get(f"/research/thoi-gian/export.{fmt}")
    assert response.status_code == 200, response.data[:300]
    frame = _read(fmt, response.data, tmp_path)
    assert list(frame["visit_time"]) == ["10:30"] and list(frame["visit_at"]) == ["2026-03-04T08:15"]


CHOICE_FILE = ROOT / "tests/fixtures/xlsforms/khaosat-select_from_file.xlsx"
WARDS_CSV = ROOT / "tests/fixtures/xlsforms/wards.csv"


def _upload(client, *files):
    data = {"instrument": (io.BytesIO(CHOICE_FILE.read_bytes()), CHOICE_FILE.name)}
    for path in files:
        data["attachment"] = (io.BytesIO(path.read_bytes()), path.name)
    return client.post("/admin/surveys/upload?lang=en", data=data, content_type="multipart/form-data")


def test_select_one_from_file_takes_its_csv_from_the_upload_form(app, client, accounts):
    accounts.login("admin")
    assert 'name="attachment"' in client.get("/admin/surveys").get_data(as_text=True)
    missing = _upload(client)
    assert missing.status_code == 422
    assert ("sheet &#39;survey&#39;, row 2: The attached file &#39;wards.csv&#39; is missing"
            in missing.get_data(as_text=True))
    checked = _upload(client, WARDS_CSV)  # checked, then confirmed on the review page (a two-step upload)
    assert checked.status_code == 302
    review = client.get(checked.headers["Location"] + "?lang=en").get_data(as_text=True)
    values = {k: v.replace("&amp;", "&") for k, v in review_values(review).items()}
    assert client.post(checked.headers["Location"] + "?lang=en", data=values).status_code == 302
    with app.app_context():
        version = db.session().exec(select(SurveyVersion).join(Survey).where(Survey.slug == "phuong")).one()
        inst = catalog.instrument_of(version)  # a draft until the admin fills in the privacy settings
    home = inst.question("home_ward")
    assert home.type == "single" and [c.code for c in home.choices] == ["70", "73", "4"]
    assert home.choices[0].label == {"vi": "Phường Hoàn Kiếm", "en": "Hoan Kiem ward"}
    assert inst.question("work_wards").type == "multiple"


CONTACT = ROOT / "tests/fixtures/xlsforms/khaosat-contact.xlsx"


@pytest.fixture
def contact(app):
    with app.app_context():
        catalog.publish(db.session(), import_xlsform(CONTACT), controller="Test controller", contact="test@example.org")


def details(app) -> tuple[dict, PersonalDetails | None]:
    with app.app_context():
        session = db.session()
        [response] = session.exec(select(Response)).all()
        return response.answers, session.exec(select(PersonalDetails)).first()


@pytest.mark.both_backends
def test_a_phone_and_an_email_are_kept_with_the_contact_details_not_the_answers(client, app, contact):
    client.post("/s/lien-he?lang=en")
    page = client.get("/s/lien-he/p/0").get_data(as_text=True)
    assert 'type="tel" id="i-contact_phone"' in page and 'type="email" id="i-contact_email"' in page
    assert "Kept with your contact details, apart from your answers." in page
    wrong = client.post("/s/lien-he/p/0", data={"age_q": "30", "contact_phone": "12345", "contact_email": "lan@"})
    assert wrong.status_code == 422
    assert "Please enter a Vietnamese phone number" in wrong.get_data(as_text=True)
    assert "I agree that this location is kept, apart from my answers" in page
    ok = client.post("/s/lien-he/p/0", data={"age_q": "30", "contact_phone": "+84 912.345.678",
                                              "contact_email": "Lan@Example.vn", "home_gps": "21.0285 105.8542 0 12",
                                              "home_gps.consent": "1"})
    assert ok.status_code == 302
    answers, kept = details(app)
    assert answers == {"age_q": 30}
    assert kept is not None and (kept.phone, kept.email) == ("0912345678", "lan@example.vn")
    assert (kept.latitude, kept.longitude, kept.accuracy_m, kept.location_consent) == (21.0285, 105.8542, 12, True)


def test_a_location_without_its_consent_is_not_kept(client, app, contact):
    client.post("/s/lien-he?lang=en")
    wrong = client.post("/s/lien-he/p/0", data={"age_q": "30", "home_gps": "north", "home_gps.consent": "1"})
    assert wrong.status_code == 422 and "Please give the location as latitude longitude" in wrong.get_data(as_text=True)
    assert client.post("/s/lien-he/p/0", data={"age_q": "30", "home_gps": "21.0285 105.8542"}).status_code == 302
    answers, kept = details(app)
    assert answers == {"age_q": 30} and kept is None


def test_the_api_keeps_contact_answers_apart_and_exports_never_show_them(client, app, accounts, contact, tmp_path):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    body = {"uuid": "5d1c1f7e-4a5b-4c1d-8e9f-0a1b2c3d4e5f", "survey": "lien-he", "version": 1,
            "answers": {"age_q": 41, "contact_phone": "024 3825 0000", "contact_email": "an@example.vn",
                        "home_gps": {"lat": 21.03, "lon": 105.85, "accuracy_m": 8, "consent": True}},
            "meta": {"language": "vi"}}
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 200  # a retry
    answers, kept = details(app)
    assert answers == {"age_q": 41} and (kept.phone, kept.email) == ("02438250000", "an@example.vn")
    assert (kept.latitude, kept.longitude, kept.location_consent) == (21.03, 105.85, True)
    accounts.login("admin")
    for fmt in ("csv", "parquet"):
        frame = _read(fmt, client.get(f"/research/lien-he/export-full.{fmt}").data, tmp_path)
        assert "age_q" in frame.columns and not {"contact_phone", "contact_email", "home_gps"} & set(frame.columns)
        assert "0912345678" not in frame.to_csv() and "an@example.vn" not in frame.to_csv()


CONSTRAINED = ROOT / "tests/fixtures/xlsforms/khaosat-contact_constraints.xlsx"


@pytest.mark.both_backends
def test_texts_with_a_phone_or_email_regex_are_recognised_as_contact_data(app, client, accounts):
    """An XLSForm text whose constraint is a phone-number or e-mail regex() is kept with the contact details
    (the review page says which and why); a tax code's ten digits, a number plate and a second phone stay
    answers."""
    inst = import_xlsform(CONSTRAINED)
    types = {q.name: q.type for q in inst.variables}
    assert types == {"age_q": "integer", "mobile": "phone", "phone_intl": "text", "mail": "email",
                     "tax_code": "text", "plate": "text"}
    accounts.login("admin")
    checked = client.post("/admin/surveys/upload?lang=en", content_type="multipart/form-data",
                          data={"instrument": (io.BytesIO(CONSTRAINED.read_bytes()), CONSTRAINED.name)})
    review = client.get(checked.headers["Location"] + "?lang=en").get_data(as_text=True)
    listed = review[review.index('id="contact-data"'):review.index("</section>")]
    assert "<code>mobile</code>): phone number. Recognised from its constraint regex(., &#39;^[0-9]{10}$&#39;)" in listed
    assert "<code>mail</code>): e-mail address. Recognised from its constraint" in listed
    assert not {"tax_code", "plate", "phone_intl", "age_q"} & set(re.findall(r"<code>(\w+)</code>", listed))
    vietnamese = client.get(checked.headers["Location"] + "?lang=vi").get_data(as_text=True)
    assert "Dữ liệu liên lạc, lưu riêng với câu trả lời" in vietnamese
    with app.app_context():
        catalog.publish(db.session(), inst, controller="Test controller", contact="test@example.org")
    respondent = app.test_client()
    respondent.post("/s/lien-lac?lang=en")
    wrong = respondent.post("/s/lien-lac/p/0", data={"age_q": "30", "mobile": "12345", "tax_code": "12"})
    assert wrong.status_code == 422 and "Please enter a Vietnamese phone number" in wrong.get_data(as_text=True)
    ok = respondent.post("/s/lien-lac/p/0", data={"age_q": "30", "mobile": "0912 345 678", "mail": "An@Example.vn",
                                                  "tax_code": "0101234567", "phone_intl": "84987654321"})
    assert ok.status_code == 302
    answers, kept = details(app)
    assert answers == {"age_q": 30, "tax_code": "0101234567", "phone_intl": "84987654321"}
    assert (kept.phone, kept.email) == ("0912345678", "an@example.vn")


class Rating(Integer):
    """A type added by a test alone: whole stars; everything else is the integer type's."""

    name = "rating"
    xlsform = ()


RATED = {"slug": "sao", "title": {"vi": "Sao", "en": "Stars"},
         "scoring": {"blocks": [{"method": "expression", "output": "stars_x2", "expression": "${stars} * 2"}]},
         "pages": [{"name": "p", "title": {"vi": "P", "en": "P"}, "questions": [
             {"name": "stars", "type": "rating", "label": {"vi": "Mấy sao?", "en": "How many stars?"},
              "required": True, "min": 1, "max": 5},
             {"name": "why", "type": "text", "label": {"vi": "Vì sao?", "en": "Why?"}, "relevant": "${stars} < 3"}]}]}


@pytest.fixture
def rating(monkeypatch, app):
    """The rating type in the registry, and its page template (a module and a template: nothing else)."""
    monkeypatch.setitem(REGISTRY, "rating", Rating())
    page = '{% include "respond/questions/integer.html" %}<span class="stars">★</span>'
    app.jinja_env.loader = ChoiceLoader([DictLoader({"respond/questions/rating.html": page}), app.jinja_env.loader])


def test_a_new_ordinary_type_needs_only_its_module_and_its_template(client, app, rating):
    inst = from_dict(RATED)  # loads: a known type, taking part in arithmetic (the relevance, the scoring)
    assert check(inst, {"stars": "4"}).values == {"stars": 4}
    assert check(inst, {"stars": "9"}).errors["stars"] == msg.TOO_LARGE(limit="5")
    assert check(inst, {}).errors["stars"] == msg.REQUIRED
    assert score(inst, {"stars": 4}) == {"stars_x2": 8.0}
    [offline] = [q for p in instrument_to_json(inst)["pages"] for q in p["questions"] if q["name"] == "stars"]
    assert (offline["number"], offline["many"], offline["ward"]) == ("whole", False, False)  # the phone checks it
    with app.app_context():
        [stars] = [v for v in codebook.variables(inst) if v.name == "stars"]
        assert (stars.kind, stars.integer, stars.question_type) == ("num", True, "rating")  # a numeric column
        catalog.publish(db.session(), inst, controller="Test controller", contact="test@example.org")
    assert client.post("/s/sao?lang=en").status_code == 302
    page = client.get("/s/sao/p/0").get_data(as_text=True)
    assert 'name="stars"' in page and '<span class="stars">★</span>' in page
    assert client.post("/s/sao/p/0", data={"stars": "5"}).status_code == 302
    assert stored(app) == {"stars": 5}

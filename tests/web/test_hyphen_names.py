"""Question names with '-' (legal in XLSForm: Kobo writes ``kobo-date_time``) through every path: import,
expressions (``${kobo-age}``), the pages without JavaScript, the API, and every export (SPSS and Stata
take '_' for '-', with the original name in the variable label; an exact date is not in the
scientific-use file, whatever its name). The browser walk with JavaScript is in
tests/browser/test_question_types_browser.py."""

from __future__ import annotations

from pathlib import Path

import pyreadstat
import pytest
from openpyxl import Workbook

from surveys import InstrumentError
from surveys.xlsform import import_xlsform
from tests.web.test_new_question_types import _read, stored
from web import catalog, db
from web.research.exports import stats_names

FORM = Path(__file__).resolve().parents[1] / "fixtures/xlsforms/khaosat-hyphen_names.xlsx"
ANSWERS = {"kobo-age": 40, "kobo_age": 12, "has-phone": "1", "used-apps": ["zalo", "vneid"],
           "kobo-date_time": "2024-05-06", "age-next": 41}


@pytest.fixture
def hyphens(app):
    with app.app_context():
        catalog.publish(db.session(), import_xlsform(FORM), controller="Test controller", contact="test@example.org")


def test_names_with_hyphens_import_and_their_expressions_work():
    inst = import_xlsform(FORM)
    assert [q.name for q in inst.variables] == list(ANSWERS)
    assert inst.question("used-apps").relevant == "${has-phone} = '1'"
    assert inst.question("age-next").calculation == "${kobo-age} + 1"
    assert [q.name for q in import_xlsform(FORM.with_name("kobo-date_time.xlsx")).variables][5] == "no-calendar_date"


@pytest.mark.parametrize("name", ["1st", "-age", "a.b", "tuổi", "a b", "x" * 65])
def test_names_xlsform_refuses_are_still_refused(tmp_path, name):
    book = Workbook()
    book.active.title = "survey"
    book.active.append(["type", "name", "label"])
    book.active.append(["integer", name, "Age"])
    book.save(tmp_path / "form.xlsx")
    with pytest.raises(InstrumentError):
        import_xlsform(tmp_path / "form.xlsx")


def test_the_pages_take_hyphenated_names_without_javascript(client, app, hyphens):
    assert client.post("/s/gach-noi?lang=en").status_code == 302
    page = client.get("/s/gach-noi/p/0").get_data(as_text=True)
    assert 'name="kobo-age"' in page and 'name="kobo-date_time"' in page and 'name="used-apps"' in page
    wrong = client.post("/s/gach-noi/p/0", data={"kobo-age": "40", "kobo_age": "60", "has-phone": "1"})
    assert wrong.status_code == 422  # . <= ${kobo-age}
    sent = client.post("/s/gach-noi/p/0", data={"kobo-age": "40", "kobo_age": "12", "has-phone": "1",
                                                 "used-apps": ["zalo", "vneid"], "kobo-date_time": "2024-05-06"})
    assert sent.status_code == 302
    assert stored(app) == ANSWERS


def test_skip_logic_on_a_hyphenated_name_drops_the_hidden_answers(client, app, hyphens):
    client.post("/s/gach-noi?lang=en")
    client.post("/s/gach-noi/p/0", data={"kobo-age": "30", "has-phone": "0", "used-apps": ["zalo"],
                                         "kobo-date_time": "2024-05-06"})
    assert stored(app) == {"kobo-age": 30, "has-phone": "0", "age-next": 31}


def test_the_api_takes_and_gives_hyphenated_names(client, app, accounts, hyphens):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    form = client.get("/api/v1/surveys/gach-noi", headers=headers).get_json()
    assert [q["name"] for q in form["pages"][0]["questions"]] == list(ANSWERS)
    assert form["pages"][0]["questions"][3]["relevant"]["tree"]["args"][0] == {"kind": "ref", "value": "has-phone"}
    body = {"uuid": "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "survey": "gach-noi", "version": 1,
            "answers": {k: v for k, v in ANSWERS.items() if k != "age-next"}, "meta": {"language": "vi"}}
    bad = client.post("/api/v1/submissions", json={**body, "answers": {**body["answers"], "kobo-age": "old"}},
                      headers=headers)
    assert bad.status_code == 422 and "kobo-age" in bad.get_json()["errors"]
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/submissions", json=body, headers=headers).status_code == 200
    assert stored(app) == ANSWERS


def test_stats_names_map_hyphens_and_avoid_collisions():
    columns = ["kobo-age", "kobo_age", "has-phone", "_x", "a-b", "a_b_2", "a_b"]
    assert stats_names(columns, "dta") == {"kobo-age": "kobo_age_2", "kobo_age": "kobo_age", "has-phone": "has_phone",
                                           "_x": "_x", "a-b": "a_b_3", "a_b_2": "a_b_2", "a_b": "a_b"}
    assert stats_names(["_x", "-y"], "sav") == {"_x": "v_x", "-y": "v_y"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav", "dta", "parquet"])
def test_hyphenated_names_reach_every_export(client, app, accounts, hyphens, tmp_path, fmt):
    client.post("/s/gach-noi")
    client.post("/s/gach-noi/p/0", data={"kobo-age": "40", "kobo_age": "12", "has-phone": "1",
                                         "used-apps": ["zalo", "vneid"], "kobo-date_time": "2024-05-06"})
    client.get("/accounts/logout")
    accounts.login("researcher")
    response = client.get(f"/research/gach-noi/export.{fmt}?lang=en")
    assert response.status_code == 200, response.data[:300]
    frame = _read(fmt, response.data, tmp_path)
    if fmt in ("sav", "dta"):
        path = tmp_path / f"x.{fmt}"
        meta = (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path), metadataonly=True)[1]
        labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
        assert labels["kobo_age_2"] == "kobo-age: Age" and labels["kobo_age"] == "Years in this ward"
        assert labels["used_apps_zalo"].startswith("used-apps_zalo: ")
        assert float(frame["kobo_age_2"][0]) == 40 and float(frame["kobo_age"][0]) == 12
        assert float(frame["age_next"][0]) == 41
        assert not any("-" in c for c in frame.columns)
    else:
        assert {"kobo-age", "kobo_age", "has-phone", "used-apps_zalo", "age-next"} <= set(frame.columns)
        assert float(frame["kobo-age"][0]) == 40 and float(frame["kobo_age"][0]) == 12
        assert float(frame["used-apps_vneid"][0]) == 1 and float(frame["age-next"][0]) == 41
